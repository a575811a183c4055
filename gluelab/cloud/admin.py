"""`/_gluelab/...`: the local cloud's own endpoints (health and status), outside the AWS API."""
from __future__ import annotations

import json

from gluelab.cloud import inventory, operations

PREFIX = "/_gluelab/"


def _json(start_response, payload, status="200 OK"):
    body = json.dumps(payload, indent=2, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def wrap(app, context):
    def admin(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        name = path[len(PREFIX):]
        if name == "health":
            return _json(start_response, {"ok": True, **context.status(), "restored": context.restored})
        if name == "status":
            return _json(start_response, {**context.status(), "restored": context.restored,
                                          "deployed": inventory.deployed(), **operations.status()})
        return _json(start_response, {"error": f"no such local cloud endpoint: {path}"},
                     "404 Not Found")
    return admin

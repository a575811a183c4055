"""A tiny SMS webhook receiver on a free loopback port, standing in for a deployed receiver:
it checks X-Twilio-Signature with twilio's RequestValidator and answers as it is told."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from gluelab.cloud.twilio_standin import LOCAL_AUTH_TOKEN


class Receiver:
    def __init__(self, answers=None, delay_s: float = 0.0):
        # Each answer: (status, content_type, body); the last one repeats.
        self.answers = list(answers or [(200, "text/xml",
                                         "<Response><Message>Got it: {Body}</Message></Response>")])
        self.delay_s = delay_s
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.handle(self, self.path, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, handler, path, body):
        params = dict(parse_qsl(body, keep_blank_values=True))
        signature = handler.headers.get("X-Twilio-Signature", "")
        self.requests.append({"params": params, "body": body, "signature": signature,
                              "headers": dict(handler.headers),
                              "valid": valid(self.url, params, signature)})
        status, content_type, text = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if self.delay_s and len(self.requests) == 1:
            time.sleep(self.delay_s)
        data = text.format(**params).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the stand-in gave up waiting: nothing to answer
            pass

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def valid(url: str, params: dict, signature: str) -> bool:
    return RequestValidator(LOCAL_AUTH_TOKEN).validate(url, params, signature)

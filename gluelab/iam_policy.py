"""IAM policy documents: which effect their statements have for one action on one resource."""
from __future__ import annotations

import json
import re


def _matches(pattern: str, value: str) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


def _listed(value) -> list:
    return [value] if isinstance(value, (str, dict)) else list(value or [])


def policy_effect(document: dict | str, action: str, resource: str) -> str | None:
    """"Deny" if a statement denies `action` on `resource`, else "Allow" if one allows it."""
    document = json.loads(document) if isinstance(document, str) else document
    effects = {statement.get("Effect") for statement in _listed(document.get("Statement"))
               if any(_matches(a, action) for a in _listed(statement.get("Action")))
               and any(_matches(r, resource) for r in _listed(statement.get("Resource")))}
    return "Deny" if "Deny" in effects else ("Allow" if "Allow" in effects else None)

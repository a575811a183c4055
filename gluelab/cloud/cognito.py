"""Cognito user pools: moto's, with its one signing key imported once.

moto signs the tokens of every user pool with the same private key, and each new pool imports
it again from the same JWK file: recovering the RSA primes takes 0.1 s a pool, paid by each
deploy that creates one and again when a restart replays it. The key is the same object for
every pool, as it was the same key before (hook pinned by tests/test_moto_hooks.py).
"""
from __future__ import annotations

import json
import types

from gluelab.cloud.lazy import when_imported


def _import_each_key_once(jwk):
    imported: dict[str, object] = {}

    def import_key(data, *args, **kwargs):
        key = json.dumps(data, sort_keys=True)
        if key not in imported:
            imported[key] = jwk.RSAKey.import_key(data, *args, **kwargs)
        return imported[key]
    return types.SimpleNamespace(RSAKey=types.SimpleNamespace(import_key=import_key))


def _patch(models) -> None:
    models.jwk = _import_each_key_once(models.jwk)


def install(context) -> None:
    when_imported("moto.cognitoidp.models", _patch)

"""TemplateURLs that point at the local cloud's own S3, as the SAM CLI writes them.

`sam deploy` uploads the template and passes CreateChangeSet a path-style URL built from its S3
endpoint: `http://127.0.0.1:PORT/BUCKET/KEY?versionId=...` against the local cloud. moto 5.2.5
reads a path-style URL only when its host is `localhost` and otherwise takes the first label of
the host name as the bucket ("127"), so the change set failed with NoSuchBucket. URLs of the usual
AWS forms still go to moto's own parsing.
"""
from __future__ import annotations

import functools
from urllib.parse import urlparse

from gluelab.cloud.lazy import when_imported

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _local_path_style(original):
    @functools.wraps(original)
    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        parts = urlparse(template_url)
        if parts.hostname not in LOOPBACK_HOSTS:
            return original(template_url, account_id=account_id, partition=partition)
        from moto.cloudformation.exceptions import ValidationError
        from moto.s3.exceptions import MissingBucket
        from moto.s3.models import s3_backends
        bucket_name, _, key_name = parts.path.lstrip("/").partition("/")
        try:
            key = s3_backends[account_id][partition].get_object(bucket_name, key_name)
        except MissingBucket:
            key = None
        if key is None:
            raise ValidationError(message=f"S3 error: The specified key does not exist "
                                          f"(TemplateURL {template_url}). Upload the template first.")
        return key.value.decode("utf-8")
    return get_stack_from_s3_url


def _install(responses) -> None:
    responses.get_stack_from_s3_url = _local_path_style(responses.get_stack_from_s3_url)


def install(context) -> None:
    when_imported("moto.cloudformation.responses", _install)

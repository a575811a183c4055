"""botocore's data files read once, in the Lambda zygote, for every worker forked from it.

A handler's first boto3 client reads and parses botocore's JSON data: the endpoints and
partitions (every region of every service), the SDK defaults, and the service's model and
endpoint rules. That was most of a cold worker's first invocation (1.6 s for the receiver's
first webhooks under load, 0.2 s for the next ones): twenty webhooks at once parsed the same
files in eight workers at a time. The zygote (lambda_zygote.py, run by path: this file imports
nothing of gluelab) parses them once; its children share the result, as they share boto3's
imported modules. Only which services are parsed ahead is a choice: those the workshop's
functions call. Others are read on first use, as before.

A session whose data path is the default (no AWS_DATA_PATH, no `data_path` in the AWS config)
gets a loader that starts with what the zygote parsed; a handler that sets its own data path
gets an empty one, as on Lambda. What a client does is unchanged: the same files give the same
models (boto3's own data folder, which each session adds, holds resource models only).
"""
from __future__ import annotations

SHARED = ("endpoints", "partitions", "sdk-default-configuration", "_retry")
SERVICES = ("ssm", "stepfunctions", "dynamodb", "s3")  # what the workshop's handlers call


def preload() -> None:
    import botocore.session
    from botocore.loaders import Loader, create_loader

    loader = Loader()  # as create_loader() makes it for the default data path
    for name in SHARED:
        loader.load_data(name)
    for service in SERVICES:  # asked as a client asks: the cache keys on the arguments
        loader.load_service_model(service, "service-2", api_version=None)
        loader.load_service_model(service, "endpoint-rule-set-1", api_version=None)
    parsed = dict(loader._cache)  # what it read, by what it was asked (botocore's instance_cache)

    def filled_loader(search_path_string=None):
        # A loader of its own (boto3 appends its folder to each session's search path),
        # starting with what the zygote parsed.
        if search_path_string is not None:
            return create_loader(search_path_string)
        filled = Loader()
        filled._cache.update(parsed)
        return filled
    botocore.session.create_loader = filled_loader  # the one name sessions build a loader by

"""Work moto's server repeats on every request although its answer never changes.

moto's dispatcher asks `list_of_moto_modules()` for every request whether the host names a
service; that lists moto's package folder and stats each of its ~170 entries, about an eighth of
a warm Lambda invoke's time in the cloud. The folder does not change while the cloud runs.

moto reads each service's botocore model (at the first request for the service) with a new
botocore Loader, which first lists every service botocore has: ~400 folders, ~4,000 stats, 20 to
60 ms of each service's first call (a restart's DescribeStacks, Scan and ListExecutions paid it
three times). One Loader lists them once; moto keeps each model it loads anyway.
"""
from __future__ import annotations

import functools

from gluelab.cloud.lazy import when_imported


def _one_loader(utils) -> None:
    loader = utils.create_loader()
    utils._load_service_model = loader.load_service_model


def install(context) -> None:
    from moto import backends
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.partial(iter, modules)
    when_imported("moto.core.utils", _one_loader)

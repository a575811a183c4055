"""EC2's regions listed without three new boto3 sessions.

moto's EC2 models list the regions when they are imported, through three new boto3 sessions,
each reading botocore's endpoint data and EC2's large service model again: half a second of
CPU. CloudFormation's models import EC2's, so every start with a saved stack paid it before the
stack could be read. The same lists come from the endpoint data moto's one shared session has
read already. Pinned in tests/test_moto_hooks.py.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

from gluelab.cloud.lazy import while_importing

MODULE = "moto.ec2.models.availability_zones_and_regions"


class SharedRegions:
    """What that module asks of a boto3 Session: a service's regions in a partition."""

    def get_available_regions(self, service_name: str, partition_name: str = "aws",
                              allow_non_regional: bool = False) -> list[str]:
        from moto.core.base_backend import AccountSpecificBackend
        resolver = AccountSpecificBackend.get_session()._session._get_internal_component(
            "endpoint_resolver")
        # boto3 reads the service model only for its endpoint prefix, which is EC2's name
        return resolver.get_available_endpoints(service_name, partition_name, allow_non_regional)


@contextmanager
def _shared_regions_for_ec2():
    import boto3
    made = boto3.Session

    def session(*args, **kwargs):  # only that module's own calls; any other thread's are boto3's
        if not args and not kwargs and sys._getframe(1).f_globals.get("__name__") == MODULE:
            return SharedRegions()
        return made(*args, **kwargs)

    boto3.Session = session
    try:
        yield
    finally:
        boto3.Session = made


def install(context) -> None:
    while_importing(MODULE, _shared_regions_for_ec2)

"""EC2's instance type offerings are read per region when first asked for (ec2_offerings.py),
and answer with the same rows moto's import read for every region at once."""
from __future__ import annotations

import copy
import importlib


def test_offerings_read_lazily_are_the_rows_moto_reads_at_import():
    from gluelab.cloud import ec2_offerings
    module = importlib.import_module(ec2_offerings.MODULE)
    if isinstance(next(iter(module.INSTANCE_TYPE_OFFERINGS.values())), ec2_offerings.RegionOfferings):
        module = importlib.reload(module)  # the test below patched it in this process first
    eager = copy.deepcopy(module.INSTANCE_TYPE_OFFERINGS)

    ec2_offerings._read_lazily(module)
    lazy = module.INSTANCE_TYPE_OFFERINGS

    assert set(lazy) == set(eager) and len(eager) == 3
    regions = lazy["availability-zone"]
    assert "eu-west-1" in regions and dict.__len__(regions) == 0  # nothing read yet
    assert regions.get("eu-west-1") == eager["availability-zone"]["eu-west-1"]
    assert dict.__len__(regions) == 1  # only the region asked for
    assert regions.get("xx-nowhere-1", []) == []
    for location_type, by_region in eager.items():
        assert dict(lazy[location_type].items()) == by_region, location_type


def test_describe_instance_type_offerings_answers_per_region_from_the_lazy_rows():
    from gluelab.cloud import ec2_offerings
    module = importlib.import_module(ec2_offerings.MODULE)
    ec2_offerings._read_lazily(module)
    backend = module.InstanceTypeOfferingBackend()
    backend.region_name = "eu-west-1"
    offerings = backend.describe_instance_type_offerings(
        "availability-zone", {"instance-type": ["t3.micro"]})
    assert {o["Location"] for o in offerings} == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert {o["LocationType"] for o in offerings} == {"availability-zone"}

"""EC2's instance type offerings, read region by region when first asked for, not all at import.

CloudFormation's module in moto imports every service it can create resources of, EC2 among
them, and EC2's import reads the instance type offerings of every region and location type:
150,000 small dicts, 41 MB of the cloud's memory for good, although only DescribeInstanceType
Offerings, RunInstances and DescribeSpotPriceHistory read them, for one region at a time. Once
moto has imported them they are dropped and each (location type, region) is read again from
moto's own data files the first time one of those calls asks for it, the same rows as before.
"""
from __future__ import annotations

import os
import threading

from gluelab.cloud.lazy import when_imported

MODULE = "moto.ec2.models.instance_types"


class RegionOfferings(dict):
    """One location type's offerings by region ({region: [offering, ...]}), as moto builds it,
    with each region's file read at its first use."""

    def __init__(self, location_type: str, files: dict[str, str], load):
        super().__init__()
        self.location_type, self.files, self.load = location_type, files, load
        self.lock = threading.Lock()

    def _read(self, region) -> None:
        if region in self.files and not dict.__contains__(self, region):
            with self.lock:
                if not dict.__contains__(self, region):
                    offerings = self.load(self.files[region])
                    for offering in offerings:  # as moto's import marks them
                        offering["LocationType"] = self.location_type
                    dict.__setitem__(self, region, offerings)

    def _read_all(self) -> None:
        for region in self.files:
            self._read(region)

    def __getitem__(self, region):
        self._read(region)
        return dict.__getitem__(self, region)

    def get(self, region, default=None):
        self._read(region)
        return dict.get(self, region, default)

    def __contains__(self, region) -> bool:
        return region in self.files

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self):
        return iter(self.files)

    def keys(self):
        self._read_all()
        return dict.keys(self)

    def values(self):
        self._read_all()
        return dict.values(self)

    def items(self):
        self._read_all()
        return dict.items(self)


def _read_lazily(module) -> None:
    folder = module.root / module.offerings_path
    offerings = module.INSTANCE_TYPE_OFFERINGS
    for location_type in os.listdir(folder):  # as moto's import walks them
        files = {name.split(".")[0]: os.path.join("ec2", module.offerings_path, location_type, name)
                 for name in os.listdir(folder / location_type)}
        # in place: moto's other modules imported the dict by name
        offerings[location_type] = RegionOfferings(location_type, files, module.load_resource)


def install(context) -> None:
    when_imported(MODULE, _read_lazily)

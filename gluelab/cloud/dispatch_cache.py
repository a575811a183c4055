"""Work moto's server repeats on every request although its answer never changes.

moto's dispatcher asks `list_of_moto_modules()` for every request whether the host names a
service; that lists moto's package folder and stats each of its ~170 entries, about an eighth of
a warm Lambda invoke's time in the cloud. The folder does not change while the cloud runs.
"""
from __future__ import annotations

import functools


def install(context) -> None:
    from moto import backends
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.partial(iter, modules)

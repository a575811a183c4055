"""CloudFormation without every other service: their models load when a template needs them.

moto's moto/cloudformation/parsing.py imports, at its top, the models of some 30 services (EC2,
Auto Scaling, RDS, SageMaker, ...) so that `CloudFormationModel.__subclasses__()` lists every
resource type. A restart's first DescribeStacks paid for all of them before the stack could be
unpickled, although a stack holds only the services it made (those its unpickling imports).

Here those imports are deferred (deferred_imports.py): everything parsing.py imports but moto's
core, CloudFormation itself and S3 (which CloudFormation's responses import anyway). The
registry of models (`get_model_list`, which `get_model_map`, `resource_class_from_type` and
gluelab's `supported_types` read) imports them all first, so a deploy sees exactly the types
moto supports (the background warm-up loads them all, deferred_imports.install).
Pinned in tests/test_moto_hooks.py.
"""
from __future__ import annotations

from gluelab.cloud import deferred_imports
from gluelab.cloud.lazy import when_imported

PARSING = "moto.cloudformation.parsing"
# What parsing.py imports at once: what loading and describing a stack needs.
KEPT = ("moto.core", "moto.cloudformation", "moto.s3", "moto.utilities", "moto.moto_api")


def _deferred(name: str) -> bool:
    return name.startswith("moto.") and not any(
        name == kept or name.startswith(kept + ".") for kept in KEPT)


def _complete_registry(parsing) -> None:
    every_model = parsing.get_model_list

    def get_model_list():
        deferred_imports.load(PARSING)
        return every_model()
    get_model_list.__wrapped__ = every_model
    get_model_list.cache_clear = every_model.cache_clear
    parsing.get_model_list = get_model_list


def install(context) -> None:
    deferred_imports.defer(PARSING, _deferred)
    when_imported(PARSING, _complete_registry)

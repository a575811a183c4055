"""The `gluelab` command. Each concern registers its own sub-commands."""
from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import version

# Modules that expose add_commands(subparsers); each sub-command sets `func`.
COMMAND_MODULES = (
    "gluelab.launcher",
    "gluelab.cloud.process",
    "gluelab.notebooks",
    "checks.runner",
    "gluelab.twilio_local",
    "gluelab.observe_cli",
    "gluelab.deploy",
    "gluelab.pipeline",
    "gluelab.teardown",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gluelab", description="Serverless Glue Workshop tools")
    parser.add_argument("--version", action="version", version=f"gluelab {version('gluelab')}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gluelab.aws_target import LocalEndpointError
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LocalEndpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

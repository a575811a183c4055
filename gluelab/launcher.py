"""`gluelab lab`: start the local cloud and JupyterLab on the labs."""
from __future__ import annotations

import os
import sys

from gluelab.config import ROOT, settings


def add_commands(subparsers) -> None:
    lab = subparsers.add_parser("lab", help="start the local cloud and JupyterLab")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab's port")
    lab.add_argument("--no-browser", action="store_true")
    lab.add_argument("--token", help="JupyterLab access token (default: JupyterLab's own)")
    lab.set_defaults(func=_lab_command)


def _lab_command(args) -> int:
    from gluelab.cloud import process
    if settings().is_local:
        try:
            process.start()
        except process.CloudError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    argv = [sys.executable, "-m", "jupyter", "lab", f"--port={args.port}",
            f"--ServerApp.root_dir={ROOT}", "--ServerApp.default_url=/lab/tree/labs/00-welcome.ipynb"]
    if args.no_browser:
        argv.append("--no-browser")
    if os.geteuid() == 0:
        # Containers and CI runners are often root; Jupyter refuses to start there without this.
        argv.append("--allow-root")
    if args.token is not None:
        argv.append(f"--IdentityProvider.token={args.token}")
    os.execv(sys.executable, argv)

"""`gluelab lab`: start the local cloud and JupyterLab on lab 00; stopping JupyterLab (Ctrl-C,
twice, or File > Shut Down) stops the local cloud too, if this command started it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from gluelab.config import ROOT, settings

FIRST_LAB = "labs/00-welcome.ipynb"


def add_commands(subparsers) -> None:
    lab = subparsers.add_parser("lab", help="start the local cloud and JupyterLab")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab's port")
    lab.add_argument("--no-browser", action="store_true")
    lab.add_argument("--token", help="JupyterLab access token (default: JupyterLab's own)")
    lab.set_defaults(func=_lab_command)


def _lab_command(args) -> int:
    from gluelab.cloud import process
    s = settings()
    started_cloud = False
    if s.is_local:
        try:
            started_cloud = not process.running(s)
            process.start(s)
        except process.CloudError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    # A path given to `jupyter lab` is the file it opens (in the browser, or the URL it prints).
    argv = [sys.executable, "-m", "jupyter", "lab", f"--port={args.port}",
            f"--ServerApp.root_dir={ROOT}", FIRST_LAB]
    if args.no_browser:
        argv.append("--no-browser")
    if os.geteuid() == 0:
        # Containers and CI runners are often root; Jupyter refuses to start there without this.
        argv.append("--allow-root")
    if args.token is not None:
        argv.append(f"--IdentityProvider.token={args.token}")
    jupyter = subprocess.Popen(argv, cwd=ROOT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # run `finally`
    try:
        while True:
            try:
                return jupyter.wait()
            except KeyboardInterrupt:
                continue  # Ctrl-C reaches JupyterLab too: it asks, and stops on a second one
    finally:
        if jupyter.poll() is None:  # this command was stopped otherwise (SIGTERM): stop it too
            jupyter.send_signal(signal.SIGTERM)
            jupyter.wait()
        if started_cloud:
            process.stop(s)
            print("Local cloud stopped (it was started with JupyterLab).")

"""`pytest --nbval solutions/` and `pytest --nbval-lax labs/`, typed as is from the repository
root, pass: loaded by the root conftest.py, this applies the rules the test suite uses.

- Solutions are compared after tests/nbval-sanitize.cfg (ports, ids, versions, timestamps)
  unless `--nbval-sanitize-with` names another file.
- Notebooks run in this environment's kernel (as `--nbval-current-env`).
- Unless the caller chose a cloud (GLUELAB_STATE_DIR set, as tests/test_notebooks.py does), the
  run gets a local cloud of its own, on a free port with a throw-away state folder and workspace,
  started before the first notebook and stopped at the end: the notebooks never touch the
  workshop's own cloud, state or work (lab 15 tears everything down), and no process is left behind.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

SANITIZE = Path(__file__).with_name("nbval-sanitize.cfg")


def pytest_configure(config) -> None:
    option = config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return
    if option.nbval_sanitize_with is None:
        option.nbval_sanitize_with = str(SANITIZE)
    if not option.nbval_kernel_name:
        option.nbval_current_env = True
    if os.environ.get("GLUELAB_STATE_DIR") or os.environ.get("GLUELAB_TARGET") == "aws":
        return  # the caller's cloud (test suite, xdist worker) or real AWS: nothing to start
    from gluelab.cloud import process
    from gluelab.notebooks import private_cloud_env
    folder = Path(tempfile.mkdtemp(prefix="gluelab-nbval-"))
    cloud, env = private_cloud_env(folder)
    os.environ.update(env)  # the kernels nbval starts inherit it
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    config.add_cleanup(lambda: process.stop(cloud))
    process.start(cloud, quiet=True)

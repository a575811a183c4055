"""Create the workshop's virtual environment and install gluelab into it.

Run by `make` on first use and whenever pyproject.toml changes. Uses uv when it can
(seconds instead of most of a minute) and falls back to plain pip.
"""
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 11)


def run(cmd: list[str]) -> bool:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT) == 0


def main() -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"gluelab needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is "
              f"{sys.version.split()[0]}. Install a newer Python and run `make PYTHON=python3.12 ...`.")
        return 1
    env_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".venv")
    python = env_dir / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(env_dir)
    spec = [".[test]"] if os.environ.get("GLUELAB_NO_EDITABLE") else ["-e", ".[test]"]
    have_uv = run([str(python), "-m", "uv", "--version"]) or run(
        [str(python), "-m", "pip", "install", "--quiet", "uv"])
    if have_uv and run([str(python), "-m", "uv", "pip", "install", "--python", str(python), *spec]):
        return 0
    print("uv was not usable here; installing with pip instead (slower).", flush=True)
    return 0 if run([str(python), "-m", "pip", "install", "--quiet", *spec]) else 1


if __name__ == "__main__":
    sys.exit(main())

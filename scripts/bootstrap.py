"""Create the workshop's virtual environment and install gluelab into it.

Run by `make` on first use and whenever pyproject.toml or requirements.lock changes. Installs
exactly the versions in requirements.lock (hash-checked), then gluelab itself without
dependencies. Uses uv, pinned, when it can (seconds instead of most of a minute) and falls back
to plain pip.
"""
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 11)
UV = "uv==0.13.9"  # pinned: a new uv may resolve or install differently
LOCK = "requirements.lock"  # written by `make lock` (scripts/lock.py)


def run(cmd: list[str]) -> bool:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT) == 0


def has_pinned_uv(python: Path) -> bool:
    found = subprocess.run([str(python), "-m", "uv", "--version"], cwd=ROOT,
                           capture_output=True, text=True)
    return found.returncode == 0 and found.stdout.split()[1:2] == [UV.split("==")[1]]


def environment(env_dir: Path) -> tuple[Path, bool]:
    """The environment's python, created if missing, and whether the pinned uv is in it."""
    python = env_dir / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(env_dir)
    return python, has_pinned_uv(python) or run([str(python), "-m", "pip", "install", "--quiet", UV])


def compile_bytecode(python: Path) -> bool:
    """Every installed module compiled once, now. uv installs without .pyc files, and with
    PYTHONDONTWRITEBYTECODE set (as in many containers) Python never writes them: each start of
    the local cloud then compiled moto from source again (about a second of its start)."""
    where = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return run([str(python), "-m", "compileall", "-q", "-j", "0", where, str(ROOT / "gluelab")])


def main() -> int:
    if sys.version_info < MIN_PYTHON:
        print(f"gluelab needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is "
              f"{sys.version.split()[0]}. Install a newer Python and run `make PYTHON=python3.12 ...`.")
        return 1
    python, have_uv = environment(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".venv"))
    spec = [".[test]"] if os.environ.get("GLUELAB_NO_EDITABLE") else ["-e", ".[test]"]
    uv = [str(python), "-m", "uv", "pip", "install", "--python", str(python)]
    if have_uv and run([*uv, "--require-hashes", "-r", LOCK]) and run([*uv, "--no-deps", *spec]):
        return 0 if compile_bytecode(python) else 1
    print("uv was not usable here; installing with pip instead (slower).", flush=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    installed = run([*pip, "--require-hashes", "-r", LOCK]) and run([*pip, "--no-deps", *spec])
    return 0 if installed and compile_bytecode(python) else 1


if __name__ == "__main__":
    sys.exit(main())

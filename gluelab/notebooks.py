"""Lab and solution notebooks from one plain-text source per lab (`gluelab notebooks ...`).

A source, `source/NN-name.py`, is a list of cells in jupytext's "percent" format, read by jupytext:

    # %% [markdown]
    # ## Run the checks
    # %% tags=["check"]
    check("00")

Code between `# BEGIN SOLUTION` and `# END SOLUTION` lines is the attendee's task. The solution
notebook keeps it (markers removed) and is executed, so its stored outputs show what a finished
lab looks like. The lab notebook replaces it with a blank that raises, and is stored without
outputs. Blank and check cells get the `raises-exception` tag in the lab: they fail as shipped.

Only the blanking of solutions is our own; before it, a few checks turn what jupytext would
quietly accept in a lab source (text before the first cell, a markdown line that is not a
comment, a marker it cannot read) into an error that names the line.

jupytext, nbformat and nbclient are imported where used: they are slow to import, and every
`gluelab` command loads this module to register its sub-commands.
"""
from __future__ import annotations

import functools
import json
import os
import re
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gluelab.config import ROOT, Settings

if TYPE_CHECKING:
    from nbformat import NotebookNode

SOURCE_DIR = ROOT / "source"
LABS_DIR = ROOT / "labs"
SOLUTIONS_DIR = ROOT / "solutions"
CELL_TIMEOUT_S = 300
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

_MARKER = "# %%"
_BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*# END SOLUTION\s*$")
_MARKER_LINE = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$", re.MULTILINE)


class SourceError(ValueError):
    """A lab source cannot be turned into notebooks; the message names the file and line."""


@dataclass(frozen=True)
class Cell:
    kind: str  # "code" or "markdown"
    source: str
    tags: tuple[str, ...]
    line: int  # where the cell starts in its source file, for error messages


@dataclass(frozen=True)
class LabSource:
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem  # "00-welcome"

    def cells(self) -> list[Cell]:
        stat = self.path.stat()
        return list(_parsed(str(self.path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _parsed(path: str, mtime_ns: int, size: int) -> tuple[Cell, ...]:
    """A source's cells, parsed once while the file is unchanged: restore's plan and %%save's
    look-up of the labs' versions each read every lab's source (a second each, with jupytext)."""
    return tuple(parse(Path(path).read_text(), path))


def parse(text: str, where: str = "<source>") -> list[Cell]:
    """The cells of a percent-format source, as jupytext reads them."""
    import jupytext
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines, start=1) if line.startswith(_MARKER)]
    first = starts[0] if starts else len(lines) + 1
    stray = next((n for n, line in enumerate(lines[:first - 1], start=1) if line.strip()), None)
    if stray or not starts:
        raise SourceError(f"{where} line {stray or 1}: text before the first '# %%' cell "
                          "marker. Start the file with '# %% [markdown]' or '# %%'.")
    try:
        notebook = jupytext.reads(text, fmt="py:percent")
    except Exception:  # jupytext fails on some bad markers with plain exceptions of many kinds
        bad = next((n for n in starts if not _readable(lines[n - 1])), starts[0])
        raise SourceError(f"{where} line {bad}: {_UNREADABLE}") from None
    ends = starts[1:] + [len(lines) + 1]
    return [_cell(cell, start, lines[start:end - 1], f"{where} line {start}")
            for cell, start, end in zip(notebook.cells, starts, ends, strict=True)]


_UNREADABLE = ("cannot read the cell marker. Write '# %%' or '# %% [markdown]', optionally "
               "followed by tags=[\"name\", ...]: tags must be a list of quoted names.")


def _readable(marker: str) -> bool:
    import jupytext
    try:
        jupytext.reads(marker + "\n", fmt="py:percent")
    except Exception:  # as in parse: any failure means jupytext cannot read this marker
        return False
    return True


def _cell(cell, start: int, body: list[str], where: str) -> Cell:
    tags = cell.metadata.get("tags", [])
    if "incorrectly_encoded_metadata" in cell.metadata or not isinstance(tags, list) \
            or not all(isinstance(tag, str) for tag in tags):
        raise SourceError(f"{where}: {_UNREADABLE}")
    if cell.cell_type == "markdown":
        for number, line in enumerate(body, start=start + 1):
            if line.strip() and not line.startswith("#"):
                raise SourceError(f"{where.rsplit(' line ', 1)[0]} line {number}: a markdown cell "
                                  f"line must start with '#' (found {line!r}). Did you forget a "
                                  "'# %%' marker above it?")
    return Cell(cell.cell_type, cell.source, tuple(tags), start)


def blank_out(source: str, where: str) -> tuple[str, bool]:
    """The lab version of a code cell: each solution block becomes a blank that raises.

    Returns the new source and whether it holds a blank.
    """
    out, indent, blanks = [], None, 0
    for line in source.splitlines():
        begin = _BEGIN.match(line)
        if begin:
            if indent is not None:
                raise SourceError(f"{where}: '# BEGIN SOLUTION' inside another solution block. "
                                  "Close the first with '# END SOLUTION'.")
            indent = begin["indent"]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            blanks += 1
        elif _END.match(line):
            if indent is None:
                raise SourceError(f"{where}: '# END SOLUTION' without a '# BEGIN SOLUTION' above it.")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise SourceError(f"{where}: '# BEGIN SOLUTION' is never closed. Add '# END SOLUTION'.")
    return "\n".join(out), blanks > 0


def keep_solution(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if not (_BEGIN.match(line) or _END.match(line)))


def _notebook(name: str, cells: list[tuple[str, str, tuple[str, ...]]]) -> NotebookNode:
    """A notebook of (kind, source, tags) cells."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for index, (kind, source, tags) in enumerate(cells):
        # Ids come from the lab and position so that regenerating never churns them.
        cell_id = f"{name}-{index:03d}"
        metadata = {"tags": list(tags)} if tags else {}
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(source, id=cell_id, metadata=metadata))
    return nb


def render(lab: LabSource) -> tuple[NotebookNode, NotebookNode]:
    """The lab notebook (blanks, no outputs) and the unexecuted solution notebook."""
    lab_cells, solution_cells = [], []
    blank_above = False  # a file cell above still has its blank: the lab's deploy refuses
    for cell in lab.cells():
        where = f"{lab.path} line {cell.line}"
        if cell.kind == "markdown":
            if _MARKER_LINE.search(cell.source):
                raise SourceError(f"{where}: solution markers only work in code cells.")
            lab_cells.append((cell.kind, cell.source, cell.tags))
            solution_cells.append((cell.kind, cell.source, cell.tags))
            continue
        blanked, has_blank = blank_out(cell.source, where)
        # "needs-task": a cell that can only work once the attendee has done the lab's task.
        # A deploy below an unfilled blank refuses (lab_failures): it would deploy the old code.
        raises = (has_blank or "check" in cell.tags or "needs-task" in cell.tags
                  or ("deploy" in cell.tags and blank_above))
        blank_above = blank_above or has_blank
        lab_tags = cell.tags + (("raises-exception",) if raises and "raises-exception" not in cell.tags else ())
        lab_cells.append((cell.kind, blanked, lab_tags))
        solution_cells.append((cell.kind, keep_solution(cell.source), cell.tags))
    return _notebook(lab.name, lab_cells), _notebook(lab.name, solution_cells)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def execute(nb: NotebookNode, cwd: Path, env: dict[str, str],
            allow_errors: bool = False) -> NotebookNode:
    """Run every cell in a fresh kernel of this environment's python3 kernelspec."""
    from nbclient import NotebookClient
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            allow_errors=allow_errors, record_timing=False,
                            # ipykernel warns on every start that it uses TCP; it is loopback only.
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute(cwd=str(cwd), env=env)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
    # The kernel records its exact version; keep the metadata the same on every machine.
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb


def _merge_streams(outputs: list) -> list:
    """Join consecutive prints: how the kernel splits them into chunks depends on timing."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None
                and previous.output_type == "stream" and previous.name == output.name):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def private_cloud_env(state_dir: Path) -> tuple[Settings, dict[str, str]]:
    """Settings and kernel environment for a throw-away local cloud (started on first connect()).

    Notebooks run with the workspace as their folder, so files they write never land in the repo.
    """
    s = Settings(target="local", port=free_port(), state_dir=state_dir,
                 workspace=state_dir / "workspace")
    s.workspace.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GLUELAB_TARGET": "local", "GLUELAB_PORT": str(s.port),
           "GLUELAB_STATE_DIR": str(s.state_dir), "GLUELAB_WORKSPACE": str(s.workspace)}
    return s, env


def sources(source_dir: Path = SOURCE_DIR, wanted: list[str] | None = None) -> list[LabSource]:
    """The lab sources, optionally only those whose number (e.g. "00") is in `wanted`."""
    found = [LabSource(p) for p in sorted(source_dir.glob("*.py"))]
    if not wanted:
        return found
    chosen = [lab for lab in found if lab.name.split("-")[0] in wanted]
    missing = set(wanted) - {lab.name.split("-")[0] for lab in chosen}
    if missing:
        raise SourceError(f"No source for lab {', '.join(sorted(missing))} in {source_dir}. "
                          f"Known labs: {', '.join(lab.name for lab in found) or 'none'}.")
    return chosen


def _text(nb: NotebookNode) -> str:
    import nbformat
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def _write(nb: NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_text(nb))


REPLACED_LABS_FOLDER = "workspace/replaced-by-build/"  # + <time>/labs/NN-name.ipynb


def _ran_in(text: str) -> bool:
    """Whether a lab notebook has cells someone ran (outputs or execution counts): a built lab
    has none, so it holds an attendee's work. One that is no notebook counts as theirs too."""
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        return True
    return any(cell.get("outputs") or cell.get("execution_count") for cell in cells)


def _write_lab(nb: NotebookNode, path: Path, log) -> None:
    """Write a lab notebook; one an attendee ran cells in is copied first, through restore's
    write_files, to workspace/replaced-by-build/<time>/labs/, and `log` says where."""
    from gluelab import restore_files
    current = path.read_text() if path.is_file() else ""
    relative = f"{path.parent.name}/{path.name}"
    written = restore_files.write_files(
        path.parent.parent, {relative: _text(nb)}, "", prefix=REPLACED_LABS_FOLDER,
        labs_text=lambda _: () if _ran_in(current) else {current})
    if written.saved_in:
        log(f"{relative} had cells run in it: that version is kept in "
            f"{path.parent.parent / written.saved_in / relative} (the rebuilt lab replaced it)")


def build(wanted: list[str] | None = None, source_dir: Path = SOURCE_DIR,
          labs_dir: Path = LABS_DIR, solutions_dir: Path = SOLUTIONS_DIR, log=print) -> None:
    """Write labs/NN-name.ipynb and the executed solutions/NN-name.ipynb for each source. A lab
    notebook an attendee ran cells in is copied to workspace/replaced-by-build/ first."""
    from nbclient.exceptions import CellExecutionError

    from gluelab.cloud import process
    with tempfile.TemporaryDirectory(prefix="gluelab-build-") as tmp:
        cloud, env = private_cloud_env(Path(tmp))
        try:
            for lab in sources(source_dir, wanted):
                lab_nb, solution_nb = render(lab)
                _write_lab(lab_nb, labs_dir / f"{lab.name}.ipynb", log)
                try:
                    execute(solution_nb, cwd=cloud.workspace, env=env)
                except CellExecutionError as exc:
                    raise SourceError(f"{lab.path}: the solution fails when run, so its notebook "
                                      f"was not written. Fix the cell below.\n{exc}") from None
                _write(solution_nb, solutions_dir / f"{lab.name}.ipynb")
                log(f"built {labs_dir.name}/{lab.name}.ipynb and {solutions_dir.name}/{lab.name}.ipynb")
        finally:
            process.stop(cloud)


def _skeleton(nb: NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.get("id"), c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def stale(source_dir: Path = SOURCE_DIR, labs_dir: Path = LABS_DIR,
          solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """Why each generated notebook does not match its source; empty when all are current.

    Labs must match exactly (they have no outputs); solutions must match cell by cell,
    outputs aside (they come from execution).
    """
    import nbformat
    problems = []
    known = set()
    for lab in sources(source_dir):
        lab_nb, solution_nb = render(lab)
        for folder, expected, exact in ((labs_dir, lab_nb, True), (solutions_dir, solution_nb, False)):
            path = folder / f"{lab.name}.ipynb"
            known.add(path)
            if not path.exists():
                problems.append(f"{path.relative_to(folder.parent)} is missing")
                continue
            stored = nbformat.read(path, as_version=4)
            same = stored == expected if exact else _skeleton(stored) == _skeleton(expected)
            if not same:
                problems.append(f"{path.relative_to(folder.parent)} does not match {lab.path.name}")
    for folder in (labs_dir, solutions_dir):
        for path in sorted(folder.glob("*.ipynb")):
            if path not in known:
                problems.append(f"{path.relative_to(folder.parent)} has no source in {source_dir.name}/")
    return problems


def add_commands(subparsers) -> None:
    notebooks = subparsers.add_parser("notebooks", help="generate lab and solution notebooks")
    actions = notebooks.add_subparsers(dest="action", required=True)
    build_cmd = actions.add_parser("build", help="regenerate labs/ and solutions/ from source/")
    build_cmd.add_argument("labs", nargs="*", metavar="NN", help="lab numbers (default: all)")
    build_cmd.set_defaults(func=_build_command)
    check_cmd = actions.add_parser("check", help="list notebooks that no longer match source/")
    check_cmd.set_defaults(func=_check_command)


def _build_command(args) -> int:
    try:
        build(args.labs)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _check_command(args) -> int:
    try:
        problems = stale()
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem)
    if problems:
        print("Run `make notebooks` (or `gluelab notebooks build NN`) to regenerate them.")
        return 1
    print("All notebooks match their sources.")
    return 0

"""Run a lab's named checks and keep track of which labs have passed.

Each lab's checks live in checks/labNN.py as functions decorated with `check_for`. The same
checks run from a notebook (`check("00")`, shown as a pass/fail list), from pytest and from
the command line (`gluelab check 00`). A check passes by returning (optionally a short detail
to show) and fails by raising; its hint tells the attendee what to do about it.
"""
from __future__ import annotations

import html
import importlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from gluelab import lab_failures
from gluelab.config import ROOT, Settings, settings
from gluelab.lab_failures import LastStepFailed

CHECKS_DIR = ROOT / "checks"
LABS_DIR = ROOT / "labs"
_REGISTRY: dict[str, list["Check"]] = {}


@dataclass(frozen=True)
class Context:
    """What a check may look at: the active target and values passed from the notebook."""
    settings: Settings
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    lab: str
    title: str
    hint: str
    run: Callable[[Context], str | None]


@dataclass(frozen=True)
class Result:
    title: str
    passed: bool
    detail: str
    hint: str


def check_for(lab: str, title: str, hint: str):
    """Register the decorated function as one of lab `lab`'s checks, shown as `title`."""
    def register(run: Callable[[Context], str | None]):
        _REGISTRY.setdefault(lab, []).append(Check(lab, title, hint, run))
        return run
    return register


class Hinted(AssertionError):
    """A check's failure whose hint fits what was found; shown instead of the check's own hint,
    which has to cover every way the check can fail."""

    def __init__(self, detail: str, hint: str):
        super().__init__(detail)
        self.hint = hint


class CheckFailed(AssertionError):
    """At least one of a lab's checks failed; the report says which and what to do."""

    def __init__(self, report: "Report"):
        super().__init__(repr(report))
        self.report = report

    def _render_traceback_(self) -> list[str]:
        # In a notebook the full list is already displayed above; a traceback would bury it.
        failed = sum(not r.passed for r in self.report.results)
        return [f"CheckFailed: {failed} of {len(self.report.results)} checks for lab "
                f"{self.report.lab} failed. Fix the items marked ✗ above, then run this cell again."]


@dataclass(frozen=True)
class Report:
    lab: str
    results: list[Result]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def _summary(self) -> str:
        ok = sum(r.passed for r in self.results)
        return f"Lab {self.lab}: {ok} of {len(self.results)} checks passed"

    def __repr__(self) -> str:
        lines = [self._summary()]
        for r in self.results:
            lines.append(f"  {'✓' if r.passed else '✗'} {r.title}" + (f": {r.detail}" if r.detail else ""))
            if not r.passed:
                lines.append(f"      hint: {r.hint}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = []
        for r in self.results:
            colour = "#1a7f37" if r.passed else "#cf222e"
            detail = f": {html.escape(r.detail)}" if r.detail else ""
            hint = "" if r.passed else f"<br><em>Hint:</em> {html.escape(r.hint)}"
            items.append(f'<li><span style="color:{colour}">{"✓" if r.passed else "✗"}</span> '
                         f"<strong>{html.escape(r.title)}</strong>{detail}{hint}</li>")
        return (f"<div><strong>{html.escape(self._summary())}</strong>"
                f'<ul style="list-style:none;padding-left:1em">{"".join(items)}</ul></div>')


def known_labs() -> list[str]:
    return sorted(p.stem[len("lab"):] for p in CHECKS_DIR.glob("lab*.py"))


def run(lab: str, values: dict[str, Any] | None = None, record: bool = True) -> Report:
    """Run every check of `lab` against the active target; never raises for a failed check.
    `record=False` leaves the attendee's progress as it was (restore trying their files)."""
    if lab not in known_labs():
        raise ValueError(f"There are no checks for lab {lab!r}. Labs with checks: "
                         f"{', '.join(known_labs())}. Use the two-character lab number, e.g. \"00\".")
    importlib.import_module(f"checks.lab{lab}")
    context = Context(settings(), dict(values or {}))
    results = []
    try:  # after a failed deploy or file cell the cloud runs the previous version: judge nothing
        lab_failures.refuse_if_failed("checking")
        refused = None
    except LastStepFailed as exc:
        refused = exc
    for item in _REGISTRY.get(lab, []):
        hint = item.hint
        try:
            if refused:
                raise refused
            detail, passed = item.run(context) or "", True
        except AssertionError as exc:
            detail, passed, hint = str(exc), False, getattr(exc, "hint", hint)
        except LastStepFailed as exc:  # the cloud runs the previous version: nothing to check yet
            detail, passed, hint = str(exc), False, "Do what the reason says first, then run the checks again."
        except Exception as exc:  # a check that crashes is a failed check, reported with why
            detail, passed = f"{type(exc).__name__}: {exc}", False
        results.append(Result(item.title, passed, detail, hint))
    report = Report(lab, results)
    if record:
        _record(lab, report.passed)
    return report


def check(lab: str, **values: Any) -> Report:
    """Run lab `lab`'s checks; values are notebook variables some checks need (e.g. MY_PHONE).

    Returns the report when every check passed; otherwise shows it and raises CheckFailed.
    """
    report = run(lab, values)
    if report.passed:
        return report
    from IPython import get_ipython
    if get_ipython() is not None:
        from IPython.display import display
        display(report)
    raise CheckFailed(report)


def _progress_file():
    return settings().state_dir / "progress.json"


def _load_progress() -> dict[str, bool]:
    try:
        return json.loads(_progress_file().read_text())
    except (OSError, ValueError):
        return {}


def _record(lab: str, passed: bool) -> None:
    data = _load_progress()
    data[lab] = passed
    path = _progress_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


@dataclass(frozen=True)
class Progress:
    """Each lab with its latest check result: passed, failed or not checked yet."""
    rows: list[tuple[str, str]]  # (lab notebook name, status)

    def __repr__(self) -> str:
        width = max((len(name) for name, _ in self.rows), default=0)
        return "\n".join(["Your progress"] + [f"  {name:<{width}}  {status}" for name, status in self.rows])

    def _repr_html_(self) -> str:
        colours = {"passed": "#1a7f37", "failed": "#cf222e"}
        rows = "".join(f"<tr><td>{html.escape(name)}</td>"
                       f'<td style="color:{colours.get(status, "inherit")}">{status}</td></tr>'
                       for name, status in self.rows)
        return f"<table><tr><th>Lab</th><th>Checks</th></tr>{rows}</table>"


def progress() -> Progress:
    saved = _load_progress()
    rows = []
    for notebook in sorted(LABS_DIR.glob("*.ipynb")):
        lab = notebook.stem.split("-")[0]
        status = "not checked yet" if lab not in saved else ("passed" if saved[lab] else "failed")
        rows.append((notebook.stem, status))
    return Progress(rows)


def add_commands(subparsers) -> None:
    cmd = subparsers.add_parser("check", help="run a lab's checks against the active target")
    cmd.add_argument("lab", help='lab number, e.g. "00"')
    cmd.set_defaults(func=_check_command)


def _check_command(args) -> int:
    try:
        report = run(args.lab)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(repr(report))
    return 0 if report.passed else 1

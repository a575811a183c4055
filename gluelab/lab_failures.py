"""What went wrong last in an open lab: a `%%save` or `%%sam` cell that refused, a deploy that
failed or rolled back.

Until it is put right, the cells after it would run the previous version of the project and
could print SUCCEEDED as if the change had worked. So the lab remembers it: `lab.deploy()`
refuses while a file cell failed, and the demo helpers (`executions.wait_for_end`) refuse while
anything failed, naming the cell or deploy and what to do. Running the cell (or the deploy)
again successfully forgets it. The memory lives in the notebook's kernel and starts empty with
each `open_lab`, so a shell command or another notebook is never affected.
"""
from __future__ import annotations

from gluelab.plain_errors import PlainError

DEPLOY = "deploy"

_failed: dict[str, str] = {}  # what failed ("%%save PATH", "%%sam Resources", DEPLOY) -> why


class LastStepFailed(PlainError, RuntimeError):
    """A demo or deploy would run the previous version because an earlier step failed."""


def forget_all() -> None:
    _failed.clear()


def failed(step: str, reason: str) -> None:
    _failed[step] = " ".join(reason.split())


def succeeded(step: str) -> None:
    _failed.pop(step, None)


def refuse_if_failed(doing: str, files_only: bool = False) -> None:
    """Raise LastStepFailed naming what failed (only file cells when files_only)."""
    steps = {step: reason for step, reason in _failed.items()
             if not (files_only and step == DEPLOY)}
    if not steps:
        return
    what = "; ".join(f"your last {step} failed ({reason})" for step, reason in steps.items())
    fixes = (["fix that cell and run it again"] if set(steps) - {DEPLOY} else []) + \
        (["fix what the deploy names and run `lab.deploy()` again"] if DEPLOY in steps else [])
    raise LastStepFailed(f"Not {doing}: {what}. The cloud still runs the previous version, so "
                         f"this would show how that version behaves, not your change. First {', then '.join(fixes)}.")

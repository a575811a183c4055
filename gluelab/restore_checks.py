"""Whether a file of yours can stay when `lab.restore()` rebuilds the earlier labs.

Your file stays when the lab that last wrote it (in the labs' solutions) still passes its
checks with your version deployed: a receiver you improved, a template you formatted your own
way. When that lab's checks fail, your file is named with the check that failed and saved
aside for the labs' version. Checks run without touching your progress record.
"""
from __future__ import annotations


def failing(yours: list[str], written_by: dict[str, str]) -> dict[str, str]:
    """Of your files `yours`, those whose last writer's checks fail, each with why."""
    from checks import runner
    failed: dict[str, str] = {}
    for lab in sorted({written_by[path] for path in yours}):
        report = runner.run(lab, record=False)
        first = next((result for result in report.results if not result.passed), None)
        if first is None:
            continue
        why = f"yours fails lab {lab}'s check: {first.title}"
        failed.update({path: why for path in yours if written_by[path] == lab})
    return failed

"""How `lab.restore()` writes the earlier labs' files without losing yours.

A project file that differs from what the earlier labs' solutions leave (your own receiver, an
edited template) is copied to `saved-by-restore/before-lab-NN-<time>/<path>` before the labs'
version replaces it, and restore names each file it created or rewrote and where your version
went. In a git project (from lab 01 on) the rewritten files are committed with a message that
says so, before any setup step runs, so no earlier lab's commit swallows them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from gluelab import config

SAVED_FOLDER = "saved-by-restore"


@dataclass
class Written:
    created: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)  # your version saved aside first
    saved_in: str | None = None  # the folder (relative to the project) holding your versions

    def lines(self) -> list[str]:
        """One line per file of yours that restore replaced, and where your version is (files
        it created replaced nothing: they are only counted)."""
        return [f"  rewrote {path} with the labs' version; your version is in "
                f"{self.saved_in}/{path}" for path in self.rewritten]

    def commit_message(self, lab_id: str) -> str:
        what = [f"created {', '.join(self.created)}"] if self.created else []
        if self.rewritten:
            what.append(f"rewrote {', '.join(self.rewritten)} (your versions are in "
                        f"{self.saved_in}/)")
        return f"Restore the labs before lab {lab_id}: " + "; ".join(what)


def write_files(project: Path, files: dict[str, str], lab_id: str) -> Written:
    """Write `files` (path -> text) into `project`, saving aside every file it replaces."""
    written = Written()
    folder = f"{SAVED_FOLDER}/before-lab-{lab_id}-{time.strftime('%Y%m%d-%H%M%S')}"
    for path, text in files.items():
        target = project / path
        if target.exists():
            current = target.read_text()
            if current == text:
                continue
            saved = project / folder / path
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(current)
            written.rewritten.append(path)
            written.saved_in = folder
        else:
            written.created.append(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return written


def mark_restored(lab_id: str) -> None:
    """Note when a lab's restore ran, so its checks can tell your change from a leftover."""
    config.save_setting(f"restored-{lab_id}", time.time())


def restored_at(lab_id: str) -> float:
    """When the lab's restore last ran (seconds since the epoch; 0 if never)."""
    return config.saved_setting(f"restored-{lab_id}", 0.0)


def commit(lab, written: Written) -> bool:
    """Commit what restore wrote, if the project is a git repository; True if it committed."""
    paths = written.created + written.rewritten
    if not paths or not (lab.project / ".git").exists():
        return False
    lab.git("add", "--", *paths)
    if not lab.git("diff", "--cached", "--name-only"):
        return False
    lab.git("commit", "--quiet", "-m", written.commit_message(lab.id))
    return True

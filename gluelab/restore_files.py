"""How `lab.restore()` writes the earlier labs' files without losing yours.

A project file of yours that differs from what the earlier labs' solutions leave (your own
receiver, an edited template) is kept when it passes the checks of the last lab that wrote it
(gluelab/restore_checks.py); otherwise it is copied to
`saved-by-restore/before-lab-NN-<time>/<path>` before the labs' version replaces it (so is an
earlier lab's version, which is only behind and not tried). Restore
names each file it kept or rewrote, why, and where your version went. In a git project (from
lab 01 on) what it writes is committed with a message that says so, before any setup step runs,
so no earlier lab's commit swallows it: first the files it created with your versions as you
left them, then the ones it had to rewrite.
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
    rewritten: dict[str, str] = field(default_factory=dict)  # path -> why (yours saved aside)
    kept: dict[str, str] = field(default_factory=dict)  # path -> the lab whose checks it passes
    saved_in: str | None = None  # the folder (relative to the project) holding your versions

    def lines(self) -> list[str]:
        """One line per file of yours that restore kept or replaced, and where your version is
        (files it created replaced nothing: they are only counted)."""
        kept = [f"  kept your {path}: it passes the checks of lab {lab}, which wrote it last"
                for path, lab in self.kept.items()]
        return kept + [f"  rewrote {path} with the labs' version{why and f' ({why})'}; your "
                       f"version is in {self.saved_in}/{path}"
                       for path, why in self.rewritten.items()]


def differing(project: Path, files: dict[str, str]) -> list[str]:
    """The paths of `files` whose file in `project` exists with other text: yours."""
    return [path for path, text in files.items()
            if (project / path).is_file() and (project / path).read_text() != text]


def _unused_folder(project: Path, prefix: str) -> str:
    """`prefix<time>`, numbered on when a folder of that name exists (a second save in the
    same second must not overwrite the first one's copies)."""
    folder = stamped = f"{prefix}{time.strftime('%Y%m%d-%H%M%S')}"
    number = 1
    while (project / folder).exists():
        number += 1
        folder = f"{stamped}-{number}"
    return folder


def write_files(project: Path, files: dict[str, str], lab_id: str, written: Written | None = None,
                why: dict[str, str] | None = None, prefix: str | None = None,
                labs_text=lambda path: ()) -> Written:
    """Write `files` (path -> text) into `project`, saving aside every file it replaces (`why`
    says, by path, why it was not kept) in a folder `prefix<time>` (by default
    saved-by-restore/before-lab-NN-<time>), and add what it did to `written`. A file whose text
    is among `labs_text(path)` (a version the labs' solutions write) is not yours: it is
    replaced without a copy."""
    written = written or Written()
    for path, text in files.items():
        target = project / path
        if target.exists():
            current = target.read_text()
            if current == text:
                continue
            if current not in labs_text(path):
                written.saved_in = written.saved_in or _unused_folder(
                    project, prefix or f"{SAVED_FOLDER}/before-lab-{lab_id}-")
                saved = project / written.saved_in / path
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(current)
                written.rewritten[path] = (why or {}).get(path, "")
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


def commit(lab, paths: list[str], message) -> bool:
    """Commit `paths` if the project is a git repository and they changed, with the message
    `message(committed paths)`; True if it committed."""
    if not paths or not (lab.project / ".git").exists():
        return False
    lab.git("add", "--", *paths)
    staged = lab.git("diff", "--cached", "--name-only").splitlines()
    if not staged:
        return False
    lab.git("commit", "--quiet", "-m", message(staged))
    return True


def first_commit_message(lab_id: str, written: Written, staged: list[str]) -> str:
    """Restore's commit before trying your files: what it created, your versions as they were."""
    created = [path for path in written.created if path in staged]
    yours = [path for path in staged if path not in created]
    what = [f"created {', '.join(created)}"] if created else []
    if yours:
        what.append(f"your {', '.join(yours)} as you left them, before checking them")
    return f"Restore the labs before lab {lab_id}: " + "; ".join(what)


def rewrite_commit_message(lab_id: str, written: Written, staged: list[str]) -> str:
    """Restore's commit of the files of yours it replaced, each with why."""
    return (f"Restore the labs before lab {lab_id}: rewrote "
            + "; ".join(f"{path}{why and f' ({why})'}" for path, why in written.rewritten.items()
                        if path in staged)
            + f" (your versions are in {written.saved_in}/)")

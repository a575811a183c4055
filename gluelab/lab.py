"""Working through a lab: open it, restore what the earlier labs built, write project files,
deploy.

A lab notebook starts with

    from gluelab.lab import open_lab
    lab = open_lab("05")
    lab.restore()

`open_lab` connects to the target, moves into your project folder (the workspace) and adds two
cell magics that write the project's files:

- `%%save PATH` saves the cell to PATH in your project (folders are created); a file of yours
  it replaces (one that is not a version the labs write) is copied to
  `replaced-by-save/<time>/PATH` first, and the cell says so;
- `%%sam SECTION` adds or replaces top-level entries of SECTION (Resources, Outputs,
  Parameters, Globals) in template.yaml, one entry per key written at the left margin; when
  it replaces an entry of yours (not one the labs write), template.yaml as it was is copied
  to `replaced-by-sam/<time>/template.yaml` first, and the cell says so;
- `%reference PATH` copies a file you are given ready-made (seed data, the pipeline
  template) from the finished app in infra/; a file of yours it replaces is copied to
  `replaced-by-reference/<time>/PATH` first, and the cell says so.

`lab.restore()` rebuilds the finished state of every earlier lab from the solutions' sources:
the files their `%%save` / `%%sam` cells write, one deploy, then their cells tagged `setup`
(configuration that lives in the cloud, such as parameters and seed data), in lab order.
"""
from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gluelab import lab_failures
from gluelab.config import ROOT, Settings
from gluelab.plain_errors import PlainError

STACK = "fixit"
TEMPLATE = "template.yaml"
BLANK = "raise NotImplementedError()"
_MAGIC = re.compile(r"^%%(?P<name>save|sam)\s+(?P<arg>\S+)\s*$")
_REFERENCE = re.compile(r"^%reference\s+(?P<path>\S+)\s*$")
REFERENCE_APP = ROOT / "infra"
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_]+):")
SECTION_ORDER = ("AWSTemplateFormatVersion", "Transform", "Description", "Metadata", "Parameters",
                 "Mappings", "Conditions", "Globals", "Resources", "Outputs")


class BlankNotFilled(PlainError, NotImplementedError):
    """A `%%save` or `%%sam` cell still holds its `# YOUR CODE HERE` blank."""


# --- editing project files (pure functions, shared by the magics and restore) ---------------

def _refuse_blank(body: str, what: str) -> None:
    if BLANK in body:
        raise BlankNotFilled(f"{what} still has a blank: replace `# YOUR CODE HERE` and "
                             f"`{BLANK}` with your code, then run the cell again.")


class InvalidJson(PlainError, ValueError):
    """A `%%save` cell for a .json file holds text that is not valid JSON."""


def _refuse_invalid_json(path: str, body: str, aside: Path | None = None,
                         shown=str) -> None:
    """Refuse JSON that does not parse, naming the line and column as Jupyter numbers the
    cell's lines (the `%%save` line is line 1); the attendee's text is written to `aside` first
    when given (a file, not just the cell, which they may undo). `shown` says where a path is."""
    if path.endswith(".json"):
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            kept = ""
            if aside is not None:
                # Text kept there by an earlier refusal is the attendee's too: it gets a copy.
                before = _write_keeping_copy("save", str(aside), saved_text(body), lambda _: ())
                kept = f"; your text is kept in {shown(aside)}" + (
                    f" (what an earlier refusal kept there is now in {before})" if before else "")
            raise InvalidJson(f"{shown(path)} not saved: line {exc.lineno + 1} column "
                              f"{exc.colno} of the cell is not valid JSON: {exc.msg.lower()}. "
                              f"The previous {path} is unchanged{kept}. Fix the cell (a missing "
                              "comma or quote, a comma before `}`?) and run it again.") from None


def shown_path(path: str | Path) -> str:
    """A path in the open project (the current folder) as an attendee finds it from the
    repository (workspace/...), or in full when the project folder is elsewhere."""
    where = Path.cwd() / path
    try:
        return str(where.relative_to(ROOT))
    except ValueError:
        return str(where)


def saved_text(body: str) -> str:
    """What `%%save` writes: the cell as typed, ending in exactly one newline."""
    return body.rstrip("\n") + "\n"


def _blocks(lines: list[str], indent: str) -> list[tuple[str, list[str]]]:
    """Split lines into (key, lines) blocks, a block starting at each `indent + key:` line.

    Lines before the first key (comments) form a block with the key "".
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in lines:
        rest = line[len(indent):] if line.startswith(indent) else ""
        match = _TOP_KEY.match(rest)
        if match:
            blocks.append((match["key"], [line]))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            blocks.append(("", [line]))
    return blocks


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def merge_section(template: str, section: str, snippet: str) -> str:
    """template.yaml with each top-level entry of `snippet` added to `section`, or replacing
    the entry of the same name there. Text and order elsewhere are kept; entries of Resources
    are separated by a blank line, those of other sections are not."""
    entries = [(key, lines) for key, lines in _blocks(snippet.splitlines(), "") if key]
    if not entries:
        raise ValueError(f"the cell has no entry for {section}: write e.g. `MyResource:` "
                         "at the left margin, its properties indented below")
    sections = _blocks(template.rstrip("\n").splitlines(), "")
    if section not in [key for key, _ in sections]:
        # A new section goes where CloudFormation's documentation puts it (Parameters before
        # Globals and Resources), or at the end.
        rank = SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER)
        later = [number for number, (key, _) in enumerate(sections)
                 if key in SECTION_ORDER and SECTION_ORDER.index(key) > rank]
        if later:
            sections.insert(later[0], (section, [f"{section}:", ""]))
        else:
            sections[-1][1].append("")
            sections.append((section, [f"{section}:"]))
    index = [key for key, _ in sections].index(section)
    head, *body = sections[index][1]
    kept = _trimmed(body)
    trailing = body[len(kept):]
    existing = {key: _trimmed(lines) for key, lines in _blocks(kept, "  ")}
    lead = existing.pop("", [])  # comments above the section's first entry stay there
    for key, lines in entries:
        existing[key] = _indented(lines)
    gap = [""] if section == "Resources" else []
    merged = [head, *lead]
    for number, lines in enumerate(existing.values()):
        merged += (gap if number else []) + lines
    sections[index] = (section, merged + trailing)
    return "\n".join(line for _, lines in sections for line in lines) + "\n"


def _indented(lines: list[str]) -> list[str]:
    """A cell's entry as merge_section writes it into its section."""
    return [("  " + line) if line.strip() else "" for line in _trimmed(lines)]


def _section_entries(template: str, section: str) -> dict[str, list[str]]:
    """The entries of a template's `section`: name -> lines, as written (trailing blanks and
    spaces aside)."""
    body = dict(_blocks(template.splitlines(), "")).get(section, [""])[1:]
    return {key: [line.rstrip() for line in _trimmed(lines)]
            for key, lines in _blocks(body, "  ") if key}


def replaced_entries(template: str, section: str, snippet: str,
                     labs_templates=()) -> list[str]:
    """The entries of `section` in `template` that a `%%sam` cell with `snippet` replaces with
    other text, leaving out any whose text a lab writes there (one of `labs_templates`): what
    of the attendee's the cell would lose."""
    old = _section_entries(template, section)
    labs = [_section_entries(text, section) for text in labs_templates]
    return [key for key, lines in _blocks(snippet.splitlines(), "")
            if key in old and old[key] != [line.rstrip() for line in _indented(lines)]
            and not any(entries.get(key) == old[key] for entries in labs)]


def template_resources(template: str) -> list[str]:
    """The names of the entries of a template's Resources section, in order."""
    sections = dict(_blocks(template.splitlines(), ""))
    return [key for key, _ in _blocks(sections.get("Resources", [""])[1:], "  ") if key]


def reference_text(path: str) -> str:
    """A file of the finished app in infra/, which `%reference PATH` copies into the project."""
    source = REFERENCE_APP / path
    if not source.is_file():
        raise FileNotFoundError(f"{path} is not a file of the reference app in {REFERENCE_APP}.")
    return source.read_text()


def apply_cell(files: dict[str, str], source: str) -> str | None:
    """Apply a `%%save`, `%%sam` or `%reference` cell to `files` (path -> text); return the
    path it changed, or None for any other cell."""
    first, _, body = source.partition("\n")
    reference = _REFERENCE.match(first)
    if reference and not body.strip():
        files[reference["path"]] = reference_text(reference["path"])
        return reference["path"]
    match = _MAGIC.match(first)
    if not match:
        return None
    _refuse_blank(body, f"This %%{match['name']} cell")
    if match["name"] == "save":
        _refuse_invalid_json(match["arg"], body)
        files[match["arg"]] = saved_text(body)
        return match["arg"]
    if TEMPLATE not in files:
        raise FileNotFoundError(f"{TEMPLATE} does not exist yet: run the cells of lab 01 "
                                "(or `lab.restore()`) first.")
    files[TEMPLATE] = merge_section(files[TEMPLATE], match["arg"], body)
    return TEMPLATE


# --- what the earlier labs built -------------------------------------------------------------

@dataclass
class Plan:
    """The finished state of a set of labs: project files, whether to deploy, setup cells."""
    files: dict[str, str] = field(default_factory=dict)
    deploys: bool = False
    setup: list[tuple[str, str]] = field(default_factory=list)  # (lab name, cell source)
    written_by: dict[str, str] = field(default_factory=dict)  # path -> the last lab writing it
    added_by: dict[str, str] = field(default_factory=dict)  # resource -> the first lab adding it


def lab_number(name: str) -> str:
    return name.split("-", 1)[0]


def plan_before(lab_id: str, including: bool = False) -> Plan:
    """What every lab numbered before `lab_id` ("02" < "02b" < "03") leaves behind, or up to
    and including it."""
    from gluelab.notebooks import keep_solution, sources
    plan = Plan()
    for lab in sources():
        number = lab_number(lab.name)
        if number > lab_id or (number == lab_id and not including):
            continue
        for cell in lab.cells():
            if cell.kind != "code":
                continue
            source = keep_solution(cell.source)
            path = apply_cell(plan.files, source)
            if path:
                plan.written_by[path] = number
            if path == TEMPLATE:
                for resource in template_resources(plan.files[TEMPLATE]):
                    plan.added_by.setdefault(resource, number)
            plan.deploys |= "deploy" in cell.tags
            if "setup" in cell.tags:
                plan.setup.append((lab.name, source))
    return plan


@functools.lru_cache(maxsize=1)
def _labs_versions() -> dict[str, dict[str, str]]:
    """path -> {text: the first lab whose solution writes it}."""
    from gluelab.notebooks import keep_solution, sources
    files: dict[str, str] = {}
    versions: dict[str, dict[str, str]] = {}
    for lab in sources():
        for cell in lab.cells():
            if cell.kind == "code" and (path := apply_cell(files, keep_solution(cell.source))):
                versions.setdefault(path, {}).setdefault(files[path], lab_number(lab.name))
    return versions


def labs_versions(path: str, before: str | None = None) -> set[str]:
    """Every text the labs' solutions (numbered before `before`, if given) write to `path`:
    what restore can write back."""
    return {text for text, lab in _labs_versions().get(path, {}).items()
            if before is None or lab < before}


def finished_plan() -> Plan:
    """What all the labs leave behind: the finished app."""
    from gluelab.notebooks import sources
    return plan_before(lab_number(sources()[-1].name), including=True)


# --- the notebook side -----------------------------------------------------------------------

class Lab:
    """One lab in progress, against the active target, in the project folder."""

    def __init__(self, lab_id: str, settings: Settings):
        self.id = lab_id
        self.settings = settings
        self.project = settings.workspace

    def deploy(self, echo=None, remove: bool = False) -> dict[str, str]:
        """Package and deploy your project as the stack `fixit`; returns the stack's outputs.
        A deploy that would delete resources your template.yaml no longer has refuses and
        names them, unless `remove=True`."""
        return self._deploy(echo, remove, again="lab.deploy(remove=True)")

    def _deploy(self, echo, remove: bool, again: str) -> dict[str, str]:
        from gluelab import stack_removals
        from gluelab.deploy import deploy
        lab_failures.refuse_if_failed("deploying", files_only=True)
        lines: list[str] = []
        try:
            if not remove:
                stack_removals.refuse_removing(self.project, STACK, again)
            outputs = deploy(self.project, STACK, echo=echo or lines.append)
        except Exception as exc:
            lab_failures.failed(lab_failures.DEPLOY, str(exc))
            raise
        lab_failures.succeeded(lab_failures.DEPLOY)
        if echo is None:
            print(next((line for line in reversed(lines) if line.startswith(("Stack ", "No changes"))),
                       f"Stack {STACK} deployed."))
        return outputs

    def outputs(self) -> dict[str, str]:
        """The deployed stack's outputs (empty before the first deploy)."""
        from gluelab.config import client
        try:
            stack = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
        except client("cloudformation").exceptions.ClientError:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def git(self, *args: str) -> str:
        """Run git in the project folder (a fixed identity keeps commits reproducible)."""
        env = {**os.environ, "GIT_AUTHOR_NAME": "Fixit attendee", "GIT_AUTHOR_EMAIL": "you@example.com",
               "GIT_COMMITTER_NAME": "Fixit attendee", "GIT_COMMITTER_EMAIL": "you@example.com"}
        done = subprocess.run(["git", *args], cwd=self.project, env=env, capture_output=True,
                              text=True)
        if done.returncode:
            raise RuntimeError(f"`git {' '.join(args)}` failed in {self.project}:\n{done.stderr.strip()}")
        return done.stdout

    def restore(self, echo=print, remove: bool = False) -> None:
        """Bring the project and the cloud to where the earlier labs' solutions leave them.
        A project file of yours that differs is kept when it passes the checks of the lab that
        wrote it last; otherwise it is saved aside first. Either way it is named, and so are
        resources the project has beyond this lab's start. Its deploy refuses to delete
        resources, naming them, unless `remove=True`."""
        from gluelab import restore_files, stack_removals
        lab_failures.forget_all()  # restore rewrites the project to a version that deploys
        plan = plan_before(self.id)
        written = restore_files.Written()
        try:
            committed = self._restore_files(plan, written, remove)
        except Exception:
            for line in written.lines():  # what was kept or saved aside before the failure
                echo(line)
            raise
        restore_files.mark_restored(self.id)
        extra = stack_removals.ahead(self.project, STACK,
                                     template_resources(plan.files.get(TEMPLATE, "")))
        if not plan.files and not plan.setup:
            echo(f"Lab {self.id} starts from scratch: nothing to restore"
                 f"{', and nothing was changed' if extra else '.'}")
            self._say_ahead(extra, echo)
            return
        echo(f"Restored the finished state of the labs before {self.id}: "
             f"{len(plan.files)} project files "
             f"({len(written.created) + len(written.rewritten)} rewritten"
             f"{f', {len(written.kept)} of yours kept' if written.kept else ''})"
             f"{', stack ' + STACK + ' deployed' if plan.deploys else ''}"
             f"{f', {len(plan.setup)} setup steps' if plan.setup else ''}"
             f"{', committed in git' if committed else ''}.")
        for line in written.lines():
            echo(line)
        self._say_ahead(extra, echo)

    def _restore_files(self, plan: Plan, written, remove: bool) -> bool:
        """Write the plan's files, trying yours first (see restore), deploy and run the setup
        steps; record in `written` what was done; True if anything was committed in git."""
        from gluelab import restore_checks, restore_files
        yours = restore_files.differing(self.project, plan.files) if plan.deploys else []
        # An earlier lab's version (labs skipped since) is only behind: replaced, not tried.
        behind = [path for path in yours
                  if (self.project / path).read_text() in labs_versions(path, before=self.id)]
        yours = [path for path in yours if path not in behind]
        restore_files.write_files(
            self.project, {path: text for path, text in plan.files.items() if path not in yours},
            self.id, written, {path: "it was an earlier lab's version" for path in behind})
        committed = restore_files.commit(self, written.created + yours, functools.partial(
            restore_files.first_commit_message, self.id, written))
        committed |= restore_files.commit(self, behind, functools.partial(
            restore_files.rewrite_commit_message, self.id, written))
        failed = self._rebuild(plan, bool(yours), remove)
        while yours:
            failing = ({path: f"the deploy failed with yours: {failed}" for path in yours}
                       if failed else restore_checks.failing(yours, plan.written_by))
            if not failing:
                break
            restore_files.write_files(self.project, {path: plan.files[path] for path in failing},
                                      self.id, written, failing)
            yours = [path for path in yours if path not in failing]
            committed |= restore_files.commit(self, list(failing), functools.partial(
                restore_files.rewrite_commit_message, self.id, written))
            failed = self._rebuild(plan, bool(yours), remove)
        written.kept = {path: plan.written_by[path] for path in yours}
        return committed

    def _say_ahead(self, extra: list[str], echo) -> None:
        """Say which resources the project has beyond this lab's start (later labs' work)."""
        from gluelab.stack_removals import named
        if extra:
            echo(f"Your project is ahead of the start of lab {self.id}: template.yaml or stack "
                 f"{STACK} has {named(extra)}, and restore kept them. This lab's cells rewrite the "
                 "files they write; a deploy that would delete any of these resources names them "
                 "and refuses until you say so.")

    def _rebuild(self, plan: Plan, tolerate: bool, remove: bool) -> str:
        """Deploy the project and run the plan's setup steps. When `tolerate` (files of yours
        are being tried), a failure is returned in one line instead of raised."""
        try:
            if plan.deploys:
                self._deploy(lambda line: None, remove, again="lab.restore(remove=True)")
            for lab_name, source in plan.setup:
                try:
                    exec(compile(source, f"<setup cell of {lab_name}>", "exec"), {"lab": self})
                except Exception as exc:
                    raise RuntimeError(f"Restoring failed in a setup step of {lab_name}: {exc}. "
                                       "Run `gluelab cloud reset` and restore again; if it keeps "
                                       "failing, open that lab's solution and run it.") from exc
        except Exception as exc:
            if not tolerate:
                raise
            lab_failures.forget_all()  # the labs' versions are deployed next
            return " ".join(str(exc).split())
        return ""


NOT_SAVED_FOLDER = "not-saved"
# + <time>/<path>: a file of yours that a %%save, %%sam or %reference cell replaced
REPLACED_FOLDER = "replaced-by-{magic}/"


def _remembered(step: str, write) -> None:
    """Run a file cell's `write`; a refusal is remembered (so that deploys and demos say the
    cell failed instead of running the previous version), a success forgets it."""
    try:
        write()
    except Exception as exc:
        lab_failures.failed(step, str(exc))
        raise
    lab_failures.succeeded(step)


def _write_keeping_copy(magic: str, path: str, text: str, labs_text) -> str:
    """Write `text` to `path` in the project as restore writes files: a file of yours it
    replaces (one whose text is not in `labs_text(path)`) is copied to
    replaced-by-MAGIC/<time>/PATH first. Returns where the copy is, as you find it, or ""."""
    from gluelab import restore_files
    written = restore_files.write_files(Path.cwd(), {path: text}, "", labs_text=labs_text,
                                        prefix=REPLACED_FOLDER.format(magic=magic))
    return shown_path(Path(written.saved_in) / path) if written.saved_in else ""


def _save_magic(line: str, cell: str) -> None:
    path = line.strip()

    def write() -> None:
        _refuse_blank(cell, f"The cell for {path}")
        _refuse_invalid_json(path, cell, aside=Path(NOT_SAVED_FOLDER) / path, shown=shown_path)
        copy = _write_keeping_copy("save", path, saved_text(cell), labs_versions)
        if copy:
            print(f"Saved {path}; it replaced your own version, which is kept in {copy} "
                  "(copy it back to undo).")
        else:
            print(f"Saved {path}")
    _remembered(f"%%save {path}", write)


def _sam_magic(line: str, cell: str) -> None:
    section = line.strip()

    def write() -> None:
        _refuse_blank(cell, f"The {section} cell")
        template = Path(TEMPLATE)
        if not template.exists():
            raise FileNotFoundError(f"{TEMPLATE} does not exist yet: run lab 01's cells, or "
                                    "`lab.restore()`, first.")
        names = [key for key, _ in _blocks(cell.rstrip("\n").splitlines(), "")]
        before = template.read_text()
        yours = replaced_entries(before, section, cell, labs_versions(TEMPLATE))
        # Adding entries, or replacing the labs' own, loses nothing of yours: no copy then.
        copy = _write_keeping_copy("sam", TEMPLATE, merge_section(before, section, cell),
                                   lambda path: () if yours else {before})
        print(f"{TEMPLATE}: {section} now has {', '.join(names)}"
              + (f"; it replaced your own {', '.join(yours)}: the template as it was is kept in "
                 f"{copy} (copy it back to undo)." if copy else ""))
    _remembered(f"%%sam {section}", write)


def _reference_magic(line: str) -> None:
    path = line.strip()
    copy = _write_keeping_copy("reference", path, reference_text(path), labs_versions)
    print(f"Copied {path} from the reference app"
          + (f"; it replaced your own version, which is kept in {copy} (copy it back to undo)."
             if copy else ""))


def open_lab(lab_id: str) -> Lab:
    """Connect to the target, move into your project folder and enable %%save and %%sam."""
    from gluelab.cloud.process import connect
    settings = connect()
    lab_failures.forget_all()
    settings.workspace.mkdir(parents=True, exist_ok=True)
    os.chdir(settings.workspace)
    try:
        ipython = get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        ipython = None
    if ipython is not None:
        ipython.register_magic_function(_save_magic, magic_kind="cell", magic_name="save")
        ipython.register_magic_function(_sam_magic, magic_kind="cell", magic_name="sam")
        ipython.register_magic_function(_reference_magic, magic_kind="line", magic_name="reference")
    return Lab(lab_id, settings)

"""Patches wait for the module they patch, so starting the local cloud does not load every service."""
import sys

from contextlib import contextmanager

from gluelab.cloud.lazy import when_imported, while_importing


def test_patch_runs_after_first_import_and_at_once_when_already_loaded(tmp_path, monkeypatch):
    (tmp_path / "late_module.py").write_text("VALUE = 'original'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    when_imported("late_module", lambda m: (seen.append(m.VALUE), setattr(m, "VALUE", "patched")))
    assert seen == [] and "late_module" not in sys.modules
    import late_module
    assert seen == ["original"] and late_module.VALUE == "patched"
    when_imported("late_module", lambda m: seen.append("again"))
    assert seen == ["original", "again"]
    sys.modules.pop("late_module")


def test_a_module_s_own_code_can_run_inside_a_context(tmp_path, monkeypatch):
    (tmp_path / "context_module.py").write_text("import os\nSEEN = os.environ['LAZY_TEST']\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    @contextmanager
    def setting():
        monkeypatch.setenv("LAZY_TEST", "inside")
        yield
        monkeypatch.setenv("LAZY_TEST", "after")

    while_importing("context_module", setting)
    import context_module
    assert context_module.SEEN == "inside"
    sys.modules.pop("context_module")

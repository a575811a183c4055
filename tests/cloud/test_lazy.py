"""Patches wait for the module they patch, so starting the local cloud does not load every service."""
import sys

from gluelab.cloud.lazy import when_imported


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

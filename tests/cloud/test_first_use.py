"""A service's saved state is put back before anything reads it (first_use.py), also when the
restore is what imports the service's module: the snapshot saver restores every service at
once, and a request arriving meanwhile must wait for it, not read an empty service (the front
door answered 404 for a deployed API right after a restart)."""
from __future__ import annotations

import importlib
import sys
import threading

from gluelab.cloud import first_use

SERVICE = '''
from moto.core.base_backend import BackendDict, BaseBackend
things_backends = BackendDict(BaseBackend, "sts")
'''


def test_a_reader_waits_for_a_restore_that_imported_the_service_itself(tmp_path, monkeypatch):
    (tmp_path / "gluelab_fake_service.py").write_text(SERVICE)
    monkeypatch.syspath_prepend(str(tmp_path))
    key = ("gluelab_fake_service", "things_backends")
    imported, release, saved = threading.Event(), threading.Event(), object()

    def put_back():  # as snapshot.Parts.memo does: import the module, then fill its BackendDict
        module = importlib.import_module(key[0])
        imported.set()
        release.wait(5)
        dict.update(module.things_backends, {"123456789012": saved})

    first_use.on_first_use(key, put_back)
    restorer = threading.Thread(target=first_use.restore, args=(key,))
    restorer.start()
    assert imported.wait(5)
    read: list = []
    reader = threading.Thread(
        target=lambda: read.append(sys.modules[key[0]].things_backends.get("123456789012")))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive()  # waits for the restore under way
    release.set()
    restorer.join(5)
    reader.join(5)
    assert read == [saved]

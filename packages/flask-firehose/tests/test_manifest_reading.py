"""Reading a manifest file: once, at first use; again only when the file
changes, looked at no more than once a second; a broken file read once per
change; one reading shared by threads."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from flask_firehose import AssetManifest, ManifestError
from flask_firehose import _manifest_reading as reading_module

HERE = Path(__file__).parent / "manifests"
BASE = "/static/dist/assets/"


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "vite-app", tmp_path / "dist")
    return tmp_path / "dist" / ".vite" / "manifest.json"


def test_read_once_then_again_only_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _copy(tmp_path)
    reads: list[str] = []
    real = reading_module._read_bytes

    def counting(where: str) -> bytes:
        reads.append(where)
        return real(where)

    monkeypatch.setattr(reading_module, "_read_bytes", counting)
    now = [1000.0]
    monkeypatch.setattr(reading_module, "_now", lambda: now[0])
    assets = AssetManifest.vite(path)
    assert reads == []  # nothing read until first use
    first = assets.links("src/main.js")
    for _ in range(50):
        assert assets.links("src/main.js") is first
    now[0] += 5  # looked at again, unchanged: not read
    assert assets.links("src/main.js") is first
    assert len(reads) == 1
    document = json.loads(path.read_text())
    document["src/main.js"]["file"] = "assets/main-REBUILT.js"
    path.write_text(json.dumps(document))
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    now[0] += 0.5  # within the second: the old reading still
    assert assets.links("src/main.js") is first
    now[0] += 1
    assert f"{BASE}main-REBUILT.js" in [link.target for link in assets.links("src/main.js")]
    assert len(reads) == 2


def test_a_broken_file_is_read_once_per_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "manifest.json"
    path.write_text("{half")
    reads: list[str] = []
    real = reading_module._read_bytes

    def counting(where: str) -> bytes:
        reads.append(where)
        return real(where)

    monkeypatch.setattr(reading_module, "_read_bytes", counting)
    assets = AssetManifest.vite(path)
    for _ in range(3):
        assets._file.checked_at = float("-inf")
        with pytest.raises(ManifestError, match="is not JSON"):
            assets.links("a.js")
    assert len(reads) == 1


def test_threads_share_one_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _copy(tmp_path)
    reads: list[str] = []
    real = reading_module._read_bytes
    gate = threading.Barrier(16)

    def slow(where: str) -> bytes:
        reads.append(where)
        return real(where)

    monkeypatch.setattr(reading_module, "_read_bytes", slow)
    assets = AssetManifest.vite(path)
    results: list[object] = []

    def work() -> None:
        gate.wait()
        results.append(assets.links("src/main.js"))

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reads) == 1
    assert len({id(result) for result in results}) == 1

"""Manifests written to hurt: not JSON, wrong types, huge, cycles, deep
chains, paths out of the output folder, thousands of entries. Each is a
:class:`ManifestError` naming the bad value, or works within bounds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flask_firehose import AssetManifest, ConfigurationError, ManifestError
from flask_firehose._manifest_files import MAX_MANIFEST_BYTES


def _vite(tmp_path: Path, document: object) -> AssetManifest:
    path = tmp_path / "manifest.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return AssetManifest.vite(path, base="/")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not JSON"),
        ("{", "is not JSON"),
        ("\xff\xfe", "is not JSON"),
        ("[" * 100_000 + "]" * 100_000, "is not JSON"),
        ("[]", "a JSON object was expected, not list"),
        ('"x"', "a JSON object was expected, not str"),
        ('{"a.js": "assets/a.js"}', "'a.js' is not a chunk"),
        ('{"a.js": {"name": "a"}}', "'a.js' is not a chunk"),
        ('{"a.js": {"file": 3}}', "a file value is 3"),
        ('{"a.js": {"file": ""}}', "a file value is ''"),
        ('{"a.js": {"file": "a.js", "imports": "b.js"}}', "has imports 'b.js', not a list of strings"),
        ('{"a.js": {"file": "a.js", "css": [1]}}', r"has css \[1\], not a list of strings"),
        ('{"a.js": {"file": "a.js", "isEntry": "yes"}}', "has isEntry 'yes'"),
        ('{"a.js": {"file": "a.js", "imports": ["_gone.js"]}}', "imports '_gone.js', which it does not hold"),
    ],
)
def test_a_malformed_manifest_is_a_typed_error(tmp_path: Path, text: str, message: str) -> None:
    assets = _vite(tmp_path, text)
    with pytest.raises(ManifestError, match=message) as caught:
        assets.links("a.js")
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.path == str(tmp_path / "manifest.json")


@pytest.mark.parametrize(
    "file",
    [
        "/etc/passwd",
        "../secret.js",
        "assets/../../secret.js",
        "assets/./a.js",
        "assets/%2e%2e/a.js",
        "assets\\a.js",
        "assets/a\x00.js",
        "assets/a\r\nSet-Cookie: x=1.js",
        "assets/a\u2028.js",
        "https://evil.example/a.js",
        "javascript:alert(1)",
        "//evil.example/a.js",
        "C:/a.js",
        "a" * 5000 + ".js",
    ],
)
def test_a_file_value_out_of_the_output_folder_is_refused_naming_it(tmp_path: Path, file: str) -> None:
    assets = _vite(tmp_path, {"a.js": {"file": "assets/a.js", "isEntry": True, "css": [file]}})
    with pytest.raises(ManifestError) as caught:
        assets.links("a.js")
    assert caught.value.value == file
    assert repr(file)[:60] in str(caught.value)


def test_a_manifest_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    with path.open("w") as out:
        out.write('{"a.js": {"file": "a.js", "src": "')
        out.write("x" * MAX_MANIFEST_BYTES)
        out.write('"}}')
    with pytest.raises(ManifestError, match="larger than 16 MB"):
        AssetManifest.vite(path).links("a.js")


def test_a_long_cycle_and_a_deep_chain_end_without_recursion(tmp_path: Path) -> None:
    count = 5_000  # past Python's recursion limit (1,000)
    document: dict[str, object] = {
        f"_c{i}.js": {"file": f"assets/c{i}.js", "imports": [f"_c{(i + 1) % count}.js"], "css": [f"assets/c{i}.css"]}
        for i in range(count)
    }
    document["main.js"] = {"file": "assets/main.js", "isEntry": True, "imports": ["_c0.js"]}
    assets = _vite(tmp_path, document)
    links = assets.links("main.js")
    assert len(links) == 2 * count + 1
    # Post-order: the deepest chunk of the chain (the one whose import closes the cycle) first.
    assert links[0].target == f"/assets/c{count - 1}.css"
    assert links[count - 1].target == "/assets/c0.css"
    assert links[count].target == "/assets/main.js"


def test_ten_thousand_entries_read_once_in_bounded_time(tmp_path: Path) -> None:
    document = {
        f"src/page{i}.js": {
            "file": f"assets/page{i}.js",
            "isEntry": True,
            "imports": ["_shared.js"],
            "css": [f"assets/page{i}.css"],
        }
        for i in range(10_000)
    }
    document["_shared.js"] = {"file": "assets/shared.js", "css": ["assets/shared.css"]}
    assets = _vite(tmp_path, document)
    started = time.perf_counter()
    entry = assets.entry("src/page9999.js")
    links = entry()
    assert time.perf_counter() - started < 5
    assert [link.target for link in links] == [
        "/assets/shared.css",
        "/assets/page9999.css",
        "/assets/page9999.js",
        "/assets/shared.js",
    ]
    with pytest.raises(ManifestError) as caught:
        assets.entry("src/page10000.js")
    assert str(caught.value).count("src/page") == 6  # the name, then five known ones


def test_many_name_combinations_stay_bounded(tmp_path: Path) -> None:
    document = {f"e{i}.js": {"file": f"assets/e{i}.js", "isEntry": True} for i in range(40)}
    assets = _vite(tmp_path, document)
    for i in range(40):
        for j in range(40):
            assets.links(f"e{i}.js", f"e{j}.js")
    reading = assets._file.reading
    assert reading is not None and len(reading.links) <= 256


@pytest.mark.parametrize("names", [(), (3,), (None,), (b"a.js",)])
def test_entry_needs_names(names: tuple[object, ...]) -> None:
    with pytest.raises(TypeError, match="entry names"):
        AssetManifest.vite("nowhere.json").entry(*names)  # type: ignore[arg-type]


def test_a_huge_unknown_name_is_shortened_in_the_message(tmp_path: Path) -> None:
    assets = _vite(tmp_path, {"a.js": {"file": "a.js", "isEntry": True}})
    with pytest.raises(ManifestError) as caught:
        assets.entry("x" * 100_000)
    assert len(str(caught.value)) < 500
    assert caught.value.value == "x" * 100_000


def test_a_manifest_that_is_a_folder_or_unreadable(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").mkdir()
    with pytest.raises(ManifestError, match="cannot be read"):
        AssetManifest.vite(tmp_path / "manifest.json").links("a.js")

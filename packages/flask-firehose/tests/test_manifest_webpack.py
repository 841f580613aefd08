"""webpack manifests: ``webpack-assets-manifest``'s entry points in webpack's
order, classic or module scripts; ``webpack-manifest-plugin``'s flat map for
single files only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flask_firehose import AssetManifest, ManifestError

HERE = Path(__file__).parent / "manifests"
ASSETS = HERE / "webpack-assets.json"
FLAT = HERE / "webpack-flat.json"


def test_an_entry_point_css_then_scripts_in_list_order() -> None:
    assets = AssetManifest.webpack(ASSETS)
    assert [link.text for link in assets.links("main")] == [
        "</static/build/vendors.e1f2.css>; rel=preload; as=style",
        "</static/build/main.1a2b.css>; rel=preload; as=style",
        "</static/build/runtime.9c0d.js>; rel=preload; as=script",
        "</static/build/vendors.a3b4.js>; rel=preload; as=script",
        "</static/build/main.3c4d.js>; rel=preload; as=script",
    ]


def test_classic_tags_are_plain_stylesheets_and_deferred_scripts() -> None:
    assets = AssetManifest.webpack(ASSETS)
    assert str(assets.tags("main")).split("\n") == [
        '<link rel="stylesheet" href="/static/build/vendors.e1f2.css">',
        '<link rel="stylesheet" href="/static/build/main.1a2b.css">',
        '<script defer src="/static/build/runtime.9c0d.js"></script>',
        '<script defer src="/static/build/vendors.a3b4.js"></script>',
        '<script defer src="/static/build/main.3c4d.js"></script>',
    ]


def test_a_module_build_gets_modulepreloads_and_module_scripts() -> None:
    assets = AssetManifest.webpack(ASSETS, module=True)
    assert [(link.rel, link.as_, link.crossorigin) for link in assets.links("admin")] == [
        ("preload", "style", None),
        ("preload", "style", None),
        ("modulepreload", None, None),
        ("modulepreload", None, None),
        ("modulepreload", None, None),
    ]
    assert '<script type="module" src="/static/build/admin.7a8b.js"></script>' in str(assets.tags("admin"))
    assert "prefetch" not in str(assets.tags("admin")) and "later" not in str(assets.links("admin"))


def test_two_entry_points_share_their_runtime_and_vendors_once() -> None:
    targets = [link.target for link in AssetManifest.webpack(ASSETS).links("main", "admin")]
    assert targets == [
        "/static/build/vendors.e1f2.css",
        "/static/build/main.1a2b.css",
        "/static/build/admin.5e6f.css",
        "/static/build/runtime.9c0d.js",
        "/static/build/vendors.a3b4.js",
        "/static/build/main.3c4d.js",
        "/static/build/admin.7a8b.js",
    ]
    tags = str(AssetManifest.webpack(ASSETS).tags("main", "admin"))
    assert tags.count("runtime.9c0d.js") == 1


def test_url_works_on_both_manifests() -> None:
    assert AssetManifest.webpack(ASSETS).url("images/logo.png") == "/static/build/images/logo.c5d6.png"
    assert AssetManifest.webpack(FLAT).url("vendors~main.js") == "/static/build/vendors~main.a3b4.js"


def test_entry_on_a_flat_manifest_says_why_not() -> None:
    with pytest.raises(ManifestError, match=r"no entry points.*nor in which order.*webpack-assets-manifest") as caught:
        AssetManifest.webpack(FLAT).entry("main")
    assert caught.value.value == "main"


def test_an_unknown_entry_point_lists_known_ones() -> None:
    with pytest.raises(ManifestError, match=r"no entry point 'mian' \(it has 'main', 'admin'\)"):
        AssetManifest.webpack(ASSETS).entry("mian")


def test_entrypoints_at_the_top_level_and_integrity_objects(tmp_path: Path) -> None:
    manifest = tmp_path / "assets-manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "main.js": {"src": "https://cdn.example.com/main.1.js", "integrity": "sha256-x"},
                "main": {"assets": {"js": ["https://cdn.example.com/main.1.js"]}},
            }
        )
    )
    assets = AssetManifest.webpack(manifest)
    assert assets.url("main.js") == "https://cdn.example.com/main.1.js"
    assert [(link.target, link.pushable) for link in assets.links("main")] == [
        ("https://cdn.example.com/main.1.js", False)
    ]


def test_values_relative_to_the_page_need_a_base(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"main.js": "main.1.js"}')
    with pytest.raises(ManifestError, match=r"'main.1.js' is relative to the page.*publicPath"):
        AssetManifest.webpack(manifest).url("main.js")
    assert AssetManifest.webpack(manifest, base="/static/build").url("main.js") == "/static/build/main.1.js"


@pytest.mark.parametrize(
    "value",
    [
        "/static/../secret.js",
        "https://cdn.example.com/a/../b.js",
        "/static\\x.js",
        "/static/x\n.js",
        "//evil.example/x.js",
    ],
)
def test_a_hostile_value_is_refused_naming_it(tmp_path: Path, value: str) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"main.js": value}))
    with pytest.raises(ManifestError) as caught:
        AssetManifest.webpack(manifest).url("main.js")
    assert caught.value.value == value
    assert repr(value) in str(caught.value)

"""Vite manifests: each entry's files in the order Vite's own HTML plugin
writes them, as hints and as tags.

``manifests/vite-app/`` is what ``vite build`` (Vite 8.3.8) wrote for
``e2e/vite-app``; ``manifests/vite-importmap/`` the same project built with
``build.chunkImportMap``; ``manifests/vite-tricky.json`` is written by hand:
a diamond of imports, CSS two chunks share, an import cycle, a CSS entry, the
single ``style.css`` of ``cssCodeSplit: false`` and an asset.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from flask_firehose import AssetManifest, ConfigurationError, ManifestError
from flask_firehose._manifest_vite import ViteBuild
from flask_firehose.testing import parse_link_header

HERE = Path(__file__).parent / "manifests"
APP = HERE / "vite-app" / ".vite" / "manifest.json"
IMPORTMAP = HERE / "vite-importmap" / ".vite" / "manifest.json"
TRICKY = HERE / "vite-tricky.json"
BASE = "/static/dist/assets/"


def _texts(manifest: AssetManifest, *names: str) -> list[str]:
    return [link.text for link in manifest.links(*names)]


def _tag_lines(manifest: AssetManifest, *names: str, nonce: str | None = None) -> list[str]:
    return str(manifest.tags(*names, nonce=nonce)).split("\n")


def test_the_real_build_css_of_the_shared_chunk_first_then_the_modules() -> None:
    assets = AssetManifest.vite(APP)
    assert _texts(assets, "src/main.js") == [
        f"<{BASE}shared-Nun8YsAd.css>; rel=preload; as=style; crossorigin",
        f"<{BASE}main-8iCS4mZ6.css>; rel=preload; as=style; crossorigin",
        f"<{BASE}main-ZAoqBymK.js>; rel=modulepreload; crossorigin",
        f"<{BASE}shared-Dc-AGWwQ.js>; rel=modulepreload; crossorigin",
    ]
    # The dynamic import (src/lazy.js) and its CSS are never hinted.
    assert not any("lazy" in text for text in _texts(assets, "src/main.js", "src/admin.js"))


def test_the_real_build_tags_match_the_hints() -> None:
    assets = AssetManifest.vite(APP)
    assert _tag_lines(assets, "src/main.js") == [
        f'<link rel="stylesheet" crossorigin href="{BASE}shared-Nun8YsAd.css">',
        f'<link rel="stylesheet" crossorigin href="{BASE}main-8iCS4mZ6.css">',
        f'<script type="module" crossorigin src="{BASE}main-ZAoqBymK.js"></script>',
        f'<link rel="modulepreload" crossorigin href="{BASE}shared-Dc-AGWwQ.js">',
    ]


def test_several_entries_are_concatenated_each_file_once() -> None:
    assets = AssetManifest.vite(APP)
    links = assets.links("src/main.js", "src/admin.js", "src/theme.css")
    assert [(link.target.rsplit("/", 1)[1], link.rel) for link in links] == [
        ("shared-Nun8YsAd.css", "preload"),
        ("main-8iCS4mZ6.css", "preload"),
        ("admin-Bq4vD59t.css", "preload"),
        ("theme-Vax-nHvr.css", "preload"),
        ("main-ZAoqBymK.js", "modulepreload"),
        ("shared-Dc-AGWwQ.js", "modulepreload"),
        ("admin-BWpuq2eb.js", "modulepreload"),
    ]
    lines = _tag_lines(assets, "src/main.js", "src/admin.js", "src/theme.css")
    assert [
        line.split(" ", 1)[0] + " " + re.findall(r'(?:href|src)="([^"]+)"', line)[0].rsplit("/", 1)[1] for line in lines
    ] == [
        "<link shared-Nun8YsAd.css",
        "<link main-8iCS4mZ6.css",
        "<link admin-Bq4vD59t.css",
        "<link theme-Vax-nHvr.css",
        "<script main-ZAoqBymK.js",
        "<link shared-Dc-AGWwQ.js",
        "<script admin-BWpuq2eb.js",
    ]


def test_diamond_imports_post_order_with_one_seen_set() -> None:
    assets = AssetManifest.vite(TRICKY, base="/b/")
    assert [(link.target, link.rel) for link in assets.links("src/a.js")] == [
        ("/b/assets/d-1.css", "preload"),  # deepest first; c's copy of it not repeated
        ("/b/assets/b-1.css", "preload"),
        ("/b/assets/c-1.css", "preload"),
        ("/b/assets/a-1.css", "preload"),  # the entry's own CSS after its imports'
        ("/b/assets/a-1.js", "modulepreload"),
        ("/b/assets/d-1.js", "modulepreload"),
        ("/b/assets/b-1.js", "modulepreload"),
        ("/b/assets/c-1.js", "modulepreload"),
    ]


def test_an_import_cycle_ends() -> None:
    build = ViteBuild(__import__("json").loads(TRICKY.read_text()), str(TRICKY), "/")
    files = build.files("src/e.js")
    assert files.styles == (
        "/assets/d-1.css",
        "/assets/c-1.css",
        "/assets/y-1.css",
        "/assets/x-1.css",
        "/assets/e-1.css",
    )
    assert files.scripts == ("/assets/e-1.js",)
    assert files.imports == ("/assets/d-1.js", "/assets/c-1.js", "/assets/y-1.js", "/assets/x-1.js")


@pytest.mark.parametrize("name", ["src/theme.css", "style.css"])
def test_a_css_entry_is_a_stylesheet(name: str) -> None:
    assets = AssetManifest.vite(TRICKY, base="/")
    (link,) = assets.links(name)
    assert link.rel == "preload" and link.as_ == "style" and link.crossorigin == ""
    assert str(assets.tags(name)) == f'<link rel="stylesheet" crossorigin href="{link.target}">'


def test_an_entry_without_imports_or_css_is_its_script() -> None:
    assets = AssetManifest.vite(TRICKY, base="/")
    assert _texts(assets, "src/plain.js") == ["</assets/plain-1.js>; rel=modulepreload; crossorigin"]


def test_modulepreload_false_keeps_the_entry_script_only() -> None:
    assets = AssetManifest.vite(TRICKY, base="/", modulepreload=False)
    assert [link.target for link in assets.links("src/a.js") if link.rel == "modulepreload"] == ["/assets/a-1.js"]
    assert "modulepreload" not in str(assets.tags("src/a.js"))
    assert '<script type="module" crossorigin src="/assets/a-1.js"></script>' in str(assets.tags("src/a.js"))


def test_a_cdn_base_makes_cross_origin_urls_and_nothing_pushable() -> None:
    assets = AssetManifest.vite(APP, base="https://cdn.example.com/dist")
    links = assets.links("src/main.js")
    assert {link.target.split("/assets/")[0] for link in links} == {"https://cdn.example.com/dist"}
    assert not any(link.pushable for link in links)
    assert all(link.crossorigin == "" for link in links)


@pytest.mark.parametrize("base", ["static/", "//cdn.example.com/", "ftp://x/", "/a b/", "/x/?v=1", "", 3])
def test_a_bad_base_is_refused_naming_it(base: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AssetManifest.vite(APP, base=base)  # type: ignore[arg-type]
    assert repr(base) in str(caught.value)
    assert (caught.value.key, caught.value.value) == ("base", base)


def test_base_is_prefixed_once_with_a_slash_added() -> None:
    assets = AssetManifest.vite(APP, base="/static/dist")
    assert assets.url("src/main.js") == "/static/dist/assets/main-ZAoqBymK.js"
    assert AssetManifest.vite(TRICKY, base="/").url("src/logo.svg") == "/assets/logo-1.svg"


def test_values_in_tags_are_escaped_and_the_nonce_goes_on_every_tag(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"src/m.js": {"file": "assets/m&x\\"1.js", "isEntry": true, "css": ["assets/a\'b.css"]}}')
    assets = AssetManifest.vite(manifest, base="/")
    with pytest.raises(ManifestError, match="not a URL"):
        assets.tags("src/m.js")  # a quote is no URL character: refused, never written
    manifest.write_text('{"src/m.js": {"file": "assets/m&x=1.js", "isEntry": true, "css": ["assets/a\'b.css"]}}')
    assets = AssetManifest.vite(manifest, base="/")
    lines = _tag_lines(assets, "src/m.js", nonce='a"<b')
    assert lines == [
        '<link rel="stylesheet" crossorigin nonce="a&#34;&lt;b" href="/assets/a&#39;b.css">',
        '<script type="module" crossorigin nonce="a&#34;&lt;b" src="/assets/m&amp;x=1.js"></script>',
    ]


def test_an_import_map_build_hints_css_only_and_tags_write_the_map_first() -> None:
    assets = AssetManifest.vite(IMPORTMAP)  # importmap=None: found beside the output folder
    assert {link.rel for link in assets.links("src/main.js")} == {"preload"}
    assert [link.as_ for link in assets.links("src/main.js")] == ["style", "style"]
    lines = _tag_lines(assets, "src/main.js", nonce="n1")
    assert lines[0].startswith('<script type="importmap" nonce="n1">{"imports":{"/static/dist/assets/shared-')
    assert lines[0].endswith("}}</script>")
    assert [line.split(" ")[1] for line in lines[1:]] == [
        'rel="stylesheet"',
        'rel="stylesheet"',
        'type="module"',
        'rel="modulepreload"',  # in the HTML after the map: allowed, unlike a header's
    ]


def test_importmap_false_ignores_the_file_and_true_needs_none(tmp_path: Path) -> None:
    ignoring = AssetManifest.vite(IMPORTMAP, importmap=False)
    assert "modulepreload" in {link.rel for link in ignoring.links("src/main.js")}
    assert "importmap" not in str(ignoring.tags("src/main.js"))
    forced = AssetManifest.vite(APP, importmap=True)
    assert {link.rel for link in forced.links("src/main.js")} == {"preload"}
    assert "importmap" not in str(forced.tags("src/main.js"))  # the page writes its own
    assert '<script type="module"' in str(forced.tags("src/main.js"))
    own = AssetManifest.vite(IMPORTMAP, importmap=True)  # the pages write their own map: not a second one
    assert {link.rel for link in own.links("src/main.js")} == {"preload"}
    assert "importmap" not in str(own.tags("src/main.js"))


def test_the_import_map_cannot_end_its_script_element(tmp_path: Path) -> None:
    shutil.copytree(HERE / "vite-importmap", tmp_path / "dist")
    (tmp_path / "dist" / "importmap.json").write_text('{"imports": {"/x</script><script>alert(1)</script>": "/y&z"}}')
    tags = str(AssetManifest.vite(tmp_path / "dist" / ".vite" / "manifest.json").tags("src/main.js"))
    assert "</script><script>" not in tags
    assert tags.count("</script>") == 2  # the map's and the entry's
    assert "\\u003c/script\\u003e" in tags


def test_links_parse_back_strictly() -> None:
    assets = AssetManifest.vite(TRICKY, base="https://cdn.example.com/")
    for link in assets.links("src/a.js", "src/e.js", "src/theme.css"):
        (parsed,) = parse_link_header(link.text)
        assert parsed.target == link.target


def test_links_are_the_same_objects_for_each_call() -> None:
    assets = AssetManifest.vite(APP)
    assert assets.links("src/main.js") is assets.links("src/main.js")
    entry = assets.entry("src/main.js")
    assert entry() is entry()


def test_url_of_an_asset_and_of_an_unknown_name() -> None:
    assets = AssetManifest.vite(TRICKY, base="/static/")
    assert assets.url("src/logo.svg") == "/static/assets/logo-1.svg"
    with pytest.raises(ManifestError, match=r"no file 'src/nope.svg'") as caught:
        assets.url("src/nope.svg")
    assert caught.value.value == "src/nope.svg"


def test_an_asset_is_not_an_entry() -> None:
    with pytest.raises(ManifestError, match=r"'src/logo.svg' is an asset .* use url"):
        AssetManifest.vite(TRICKY).entry("src/logo.svg")


_TAG = re.compile(r'<(?:script type="module"|link rel="(?:modulepreload|stylesheet)")[^>]*>(?:</script>)?')


@pytest.mark.parametrize("page", ["index.html", "admin.html", "diamond.html"])
def test_tags_are_what_vites_html_plugin_wrote_for_the_same_build(page: str) -> None:
    """``manifests/vite-html/`` is e2e/vite-app built with vite.html.config.js:
    its pages hold the tags Vite's own HTML plugin wrote (diamond.html: two
    chunks importing a third)."""
    vites = _TAG.findall((HERE / "vite-html" / page).read_text())
    assets = AssetManifest.vite(HERE / "vite-html" / ".vite" / "manifest.json")
    ours = _tag_lines(assets, page)
    assert sorted(ours) == sorted(vites)
    for kind in ("stylesheet", "modulepreload"):
        assert [tag for tag in ours if kind in tag] == [tag for tag in vites if kind in tag]
    href = re.compile(r'(?:href|src)="([^"]+)"')
    css = [href.findall(tag)[0] for tag in vites if "stylesheet" in tag]
    scripts = [href.findall(tag)[0] for tag in vites if tag.startswith("<script")]
    preloads = [href.findall(tag)[0] for tag in vites if "modulepreload" in tag]
    assert [link.target for link in assets.links(page)] == css + scripts + preloads

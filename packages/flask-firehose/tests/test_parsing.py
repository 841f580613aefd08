from __future__ import annotations

import pytest

from flask_firehose._parsing import MalformedLinkHeader, ParsedLink, parse_link_header, parse_link_headers


def test_parses_params_in_order() -> None:
    (link,) = parse_link_header('</a.css> ; REL="preload" ;as=style; nopush; title="a \\"b\\""')
    assert link == ParsedLink("/a.css", (("rel", "preload"), ("as", "style"), ("nopush", None), ("title", 'a "b"')))
    assert link.rels == {"preload"} and link.has("nopush") and link.get("as") == "style"


def test_parses_several_links_and_fields() -> None:
    links = parse_link_headers(["</a>; rel=preload, </b>; rel=preload", "</c>; rel=preconnect"])
    assert [link.target for link in links] == ["/a", "/b", "/c"]


@pytest.mark.parametrize(
    "value",
    [
        "</a.css>; as=style; rel=preload, ",  # 0.2.3's trailing comma
        "",
        "</a>>; rel=preload",
        "</a>; rel=pre load",
        "</a>; rel=",
        "</a> rel=preload",
        "</a>,, </b>",
        "<a b>; rel=preload",
        '</a>; title="unterminated',
    ],
)
def test_rejects_malformed(value: str) -> None:
    with pytest.raises(MalformedLinkHeader):
        parse_link_header(value)

"""``.. firehose-config::``: one entry per ``FIREHOSE_*`` key, generated from
the table in the code (``flask_firehose._config_keys.KEYS``), so the docs
cannot drift from what ``init_app`` reads."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from flask_firehose._config_keys import KEYS


class FirehoseConfig(SphinxDirective):
    """Render every configuration key as a ``py:data`` entry."""

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for name, key in KEYS.items():
            lines += [f".. py:data:: {name}", f"   :value: {key.default!r}", "", f"   {key.doc}", ""]
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source="flask_firehose._config_keys.KEYS"), 0, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("firehose-config", FirehoseConfig)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

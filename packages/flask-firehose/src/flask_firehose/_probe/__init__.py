"""``firehose probe``: what a deployment really sends for one page.

A client of its own, apart from the extension: ``transport`` (TCP, TLS with
ALPN, deadlines), ``http2`` and ``http11`` (one exchange each), ``run`` (the
visits and their cookie jar), ``checks`` (the warnings), ``result`` (what was
found, and its JSON) and ``report`` (the text). It reads links with the strict
parser and judges them with the link model; only the command line imports it.

The face hands nothing on: ``transport`` and ``result`` need no third-party
package, so the command line checks its options without ``h2`` or ``h11``
installed, and imports ``run`` and ``report`` only to probe.
"""

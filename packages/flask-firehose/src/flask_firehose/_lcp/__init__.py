"""The LCP image, learned from real visitors (private).

A small script, served by the extension to a few visits per endpoint and
viewport class, reports the page's Largest Contentful Paint image; the server
keeps the reports that pass every check and hints an image once enough
distinct visitors agree on it. One concern per module: ``tokens`` (the signed
token the page carries), ``store`` (the sample store protocol and its memory
store), ``agreement`` (when samples agree, pure), ``limits`` (the rate
limits, in fixed memory), ``reports`` (the report view and its checks),
``inject`` (the script tag into an HTML response) and
``learning`` (the facade the request hooks call); ``script.js``, package data,
is the browser side.
"""

from .learning import LcpLearning
from .store import LcpStore, MemoryLcpStore

__all__ = ["LcpLearning", "LcpStore", "MemoryLcpStore"]

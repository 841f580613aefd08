"""Sphinx configuration for the Flask-Firehose docs (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "packages" / "flask-firehose" / "src"))

import flask_firehose  # noqa: E402

project = "Flask-Firehose"
author = "The Flask-Firehose contributors"
copyright = "2026, the Flask-Firehose contributors"
release = flask_firehose.__version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "firehose_config"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
default_role = "code"
exclude_patterns = ["_build", "speculation-measured.rst"]
html_theme = "furo"
html_title = f"Flask-Firehose {release}"
html_static_path: list[str] = []

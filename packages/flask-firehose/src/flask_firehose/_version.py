"""The distribution's version, in one place (read by the package and its tools)."""

from __future__ import annotations

__version__ = "1.0.0.dev0"

"""What 0.2.3 users can have imported, kept working with a :class:`DeprecationWarning`.

0.2.3 exported one name that has moved: ``Connector``, the session tracker,
now :class:`~flask_firehose.SessionConnector`. The package's ``__getattr__``
hands it on through :func:`moved`; every other unknown name is an
:exc:`AttributeError`.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["moved"]


def moved(package: str, name: str) -> Any:
    """The value of a moved top-level *name*, with a warning; else :exc:`AttributeError`."""
    if name == "Connector":
        warnings.warn(
            f"'{package}.Connector' is deprecated; use '{package}.SessionConnector'",
            DeprecationWarning,
            stacklevel=3,
        )
        from ._connectors import SessionConnector

        return SessionConnector
    raise AttributeError(f"module {package!r} has no attribute {name!r}")

"""Names that moved, kept working with a :class:`DeprecationWarning`.

Two kinds: top-level names of 0.2.3 and of the 1.0 previews that now live
elsewhere (``Connector`` is :class:`~flask_firehose.SessionConnector`, the
strict ``Link`` parser is in :mod:`flask_firehose.testing`), and the module
paths of the previews (``flask_firehose.links``, ``flask_firehose.redis_backend``,
...), which became private modules. Each old module path is a small stand-in
module that forwards attribute reads to its new home.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import Any, Final

__all__ = ["alias_old_modules", "moved"]

#: Old top-level name -> (module that holds it now, its name there, where to import it from).
_MOVED_NAMES: Final = {
    "Connector": ("._tracking", "SessionConnector", "flask_firehose.SessionConnector"),
    "ParsedLink": ("._parsing", "ParsedLink", "flask_firehose.testing.ParsedLink"),
    "parse_link_header": ("._parsing", "parse_link_header", "flask_firehose.testing.parse_link_header"),
}

#: Module path of the 1.0 previews -> the private module that replaced it.
_MOVED_MODULES: Final = {
    "budget": "_budget",
    "collection": "_collection",
    "config": "_config",
    "declared": "_declared",
    "digest": "_digest",
    "early_hints_103": "_early_hints",
    "extension": "_extension",
    "failure": "_failure",
    "final_header": "_final_header",
    "grammar": "_grammar",
    "learning": "_learning",
    "links": "_links",
    "lint": "_lint",
    "memo": "_memo",
    "parsing": "_parsing",
    "paths": "_paths",
    "redis_backend": "_redis",
    "shared_cache": "_shared_cache",
    "tracking": "_tracking",
}


def moved(package: str, name: str) -> Any:
    """The value of a moved top-level *name*, with a warning; else :exc:`AttributeError`."""
    if name in _MOVED_NAMES:
        module, attribute, new_path = _MOVED_NAMES[name]
        warnings.warn(
            f"'{package}.{name}' is deprecated; use '{new_path}'",
            DeprecationWarning,
            stacklevel=3,
        )
        return getattr(importlib.import_module(module, package), attribute)
    if name in _MOVED_MODULES:
        return sys.modules[f"{package}.{name}"]
    raise AttributeError(f"module {package!r} has no attribute {name!r}")


class _MovedModule(ModuleType):
    """Stands for an old module path; reading a name imports the new module."""

    def __init__(self, package: str, old: str, new: str) -> None:
        super().__init__(f"{package}.{old}")
        self._target = f"{package}.{new}"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        warnings.warn(
            f"'{self.__name__}' is internal since Flask-Firehose 1.0; import public names from"
            " 'flask_firehose' (or 'flask_firehose.testing'), this module path will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(self._target), name)


def alias_old_modules(package: str) -> None:
    """Register a stand-in for every old module path of *package*."""
    for old, new in _MOVED_MODULES.items():
        sys.modules.setdefault(f"{package}.{old}", _MovedModule(package, old, new))

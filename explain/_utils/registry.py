"""One registration style for adapters, methods and metrics: a name and a ``"module:attribute"`` path.

Entries are loaded lazily (an optional library such as torch is imported only
when its entry is used) and checked at registration: a malformed path or a
second registration of a name fails at import, not at use.
"""

from __future__ import annotations

import importlib
import re

__all__ = ["Registry"]

_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class Registry:
    """Named entries of one kind (``"adapter"``, ``"method"``, ``"metric"``), in registration order."""

    def __init__(self, kind: str):
        self.kind = kind
        self._paths: dict[str, str] = {}

    def register(self, name: str, path: str) -> None:
        """Add ``name`` -> ``"package.module:Attribute"``; raises ValueError for a bad path or a duplicate."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if not isinstance(path, str) or not _PATH.match(path):
            raise ValueError(f"{self.kind} {name!r}: path must look like 'package.module:Attribute', got {path!r}")
        if name in self._paths:
            raise ValueError(f"{self.kind} {name!r} is registered twice ({self._paths[name]} and {path})")
        self._paths[name] = path

    def names(self) -> list[str]:
        return list(self._paths)

    def path(self, name: str) -> str:
        return self._paths[name]

    def load(self, name: str):
        """The registered object (class or function), importing its module on first use."""
        module, attr = self._paths[name].split(":")
        return getattr(importlib.import_module(module), attr)

    def __contains__(self, name) -> bool:
        return name in self._paths

    def __iter__(self):
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

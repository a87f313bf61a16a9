"""One registration style for adapters, methods and metrics: a name and a ``"module:attribute"`` path.

Entries are loaded lazily (an optional library such as torch is imported only
when its entry is used) and checked at registration: a malformed path or a
second registration of a name fails at import, not at use. A registry of
light entries (the metrics) resolves each path at registration too
(``resolve=True``), so a path to a missing function fails at import as well.
An entry may carry facts (``register(name, path, kind="row")``), read back
with :meth:`Registry.facts`.
"""

from __future__ import annotations

import importlib
import re

__all__ = ["Registry"]

_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class Registry:
    """Named entries of one kind (``"adapter"``, ``"method"``, ``"metric"``), in registration order."""

    def __init__(self, kind: str, *, resolve: bool = False):
        self.kind = kind
        self.resolve = resolve
        self._paths: dict[str, str] = {}
        self._facts: dict[str, dict] = {}

    def register(self, name: str, path: str, **facts) -> None:
        """Add ``name`` -> ``"package.module:Attribute"`` (with optional facts about the entry).

        Raises ValueError for a bad path or a duplicate, and, when the registry
        resolves at registration, for a path whose module or attribute is missing.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if not isinstance(path, str) or not _PATH.match(path):
            raise ValueError(f"{self.kind} {name!r}: path must look like 'package.module:Attribute', got {path!r}")
        if name in self._paths:
            raise ValueError(f"{self.kind} {name!r} is registered twice ({self._paths[name]} and {path})")
        if self.resolve:
            module, attr = path.split(":")
            try:
                getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ValueError(f"{self.kind} {name!r}: cannot load {path!r} ({exc})") from exc
        self._paths[name] = path
        self._facts[name] = dict(facts)

    def facts(self, name: str) -> dict:
        """The facts registered with ``name`` (a copy)."""
        return dict(self._facts[name])

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

"""Atomic file writes: a file appears whole under its name, or not at all."""

from __future__ import annotations

import os
import secrets

__all__ = ["atomic_write_text"]


def atomic_write_text(path, text: str) -> str:
    """Write ``text`` (UTF-8) to a temporary name beside ``path``, then rename it into place.

    The file is created with mode 0o666 less the process umask (as ``open`` does), so a
    report is as readable as any other file the user writes; a failure leaves nothing behind.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{secrets.token_hex(8)}{os.path.splitext(path)[1]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path

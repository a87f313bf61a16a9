"""Warnings that point at the caller's line: the stack level is computed, never counted by hand.

In the spirit of pandas' ``find_stack_level``: walk the stack and report the
warning at the line that called into explain from outside the package (the
user's script, notebook cell or test), however deep inside the package the
warning was issued and whichever library (shap, captum, contextlib) sits in
between.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["find_stack_level", "warn"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _inside(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def find_stack_level() -> int:
    """``stacklevel`` for a ``warnings.warn`` called by the caller of this function.

    Level 1 is that caller. The level returned is the frame just outside the
    outermost frame of the explain package, i.e. the line that called explain.
    Outside any explain frame (e.g. a worker process), 1.
    """
    frame = sys._getframe(1)
    level, outermost = 1, 0
    while frame is not None:
        if _inside(frame.f_code.co_filename):
            outermost = level
        frame = frame.f_back
        level += 1
    return outermost + 1 if outermost else 1


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` at the caller's line outside the explain package."""
    warnings.warn(message, category, stacklevel=find_stack_level())

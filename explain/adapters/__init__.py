"""Model families: one module per family, each an :class:`Adapter` subclass, registered in ``registry``.

``get_adapter(model)`` is the one entry point from a model to its adapter.
"""

from .base import Adapter, class_paths
from .registry import get_adapter, register_adapter, supported_models

__all__ = ["Adapter", "get_adapter", "register_adapter", "supported_models", "class_paths"]

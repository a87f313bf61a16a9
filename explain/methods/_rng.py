"""Seeding libraries that draw from global random number generators, without leaving a trace.

shap's KernelExplainer and captum's GradientShap sample from numpy's global
RNG, captum's samplers also from torch's. Inside ``seeded(seed)`` both are
seeded; afterwards the caller's global states are back as they were.
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["seeded"]


@contextlib.contextmanager
def seeded(seed, *, torch_too: bool = False):
    """Seed numpy's (and optionally torch's) global RNG for one call, then restore them."""
    state = np.random.get_state()
    np.random.seed(None if seed is None else int(seed) % (2 ** 32))
    with contextlib.ExitStack() as stack:
        if torch_too:
            import torch

            stack.enter_context(torch.random.fork_rng(devices=[]))
            torch.manual_seed(0 if seed is None else int(seed))
        try:
            yield
        finally:
            np.random.set_state(state)

"""The study's torch networks: an MLP and a neural additive model (NAM), trained the same way.

Both are plain ``torch.nn.Module`` objects that take the raw features (scaling is
their first layer, fitted on the training rows), so explain treats both as torch
networks: no family knows the NAM is additive. The NAM (Agarwal et al. 2021) sums
one small MLP per feature (1 -> hidden -> hidden -> outputs, ReLU): its logits
(or its regression output) are exactly a sum of one-feature functions, so its
interaction strength in that space is zero up to float round-off, the control
of hypothesis H3. Images enter both as flat pixels.

    >>> import numpy as np
    >>> from explain.study._nets import fit_net
    >>> X = np.random.default_rng(0).normal(size=(64, 3)); y = (X[:, 0] > 0).astype(int)
    >>> net = fit_net("nam", X, y, task="classification", epochs=2)
    >>> tuple(net(__import__("torch").zeros(5, 3)).shape)
    (5, 2)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["fit_net", "NAM", "MLP"]


class _Scaled(nn.Module):
    """Standardise the inputs with the training rows' mean and sd, run the body, undo the target's scaling."""

    def __init__(self, mean, sd, y_mean=0.0, y_sd=1.0):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("sd", torch.as_tensor(sd, dtype=torch.float32))
        self.register_buffer("y_mean", torch.tensor(float(y_mean)))
        self.register_buffer("y_sd", torch.tensor(float(y_sd)))

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return self.body((x - self.mean) / self.sd) * self.y_sd + self.y_mean


class MLP(_Scaled):
    """Linear(hidden) - ReLU - Linear(hidden) - ReLU - Linear(outputs) on the scaled features."""

    def __init__(self, d, k, hidden, **scale):
        super().__init__(**scale)
        self.body = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, k))


class _FeatureNets(nn.Module):
    """d independent MLPs 1 -> h -> h -> k evaluated at once (batched weights), summed over the features."""

    def __init__(self, d, k, hidden, chunk=2048):
        super().__init__()
        self.chunk = chunk
        self.w1 = nn.Parameter(torch.randn(d, hidden) * 0.5)
        self.b1 = nn.Parameter(torch.zeros(d, hidden))
        self.w2 = nn.Parameter(torch.randn(d, hidden, hidden) / hidden ** 0.5)
        self.b2 = nn.Parameter(torch.zeros(d, hidden))
        self.w3 = nn.Parameter(torch.randn(d, hidden, k) / hidden ** 0.5)
        self.bias = nn.Parameter(torch.zeros(k))

    def _part(self, x):
        h = torch.relu(x[:, :, None] * self.w1 + self.b1)  # (n, d, h): feature j's own hidden units
        h = torch.relu(torch.einsum("ndh,dhg->ndg", h, self.w2) + self.b2)
        return torch.einsum("ndg,dgk->nk", h, self.w3) + self.bias  # the sum of the d feature nets

    def forward(self, x):
        if x.shape[0] <= self.chunk:
            return self._part(x)
        return torch.cat([self._part(x[s:s + self.chunk]) for s in range(0, x.shape[0], self.chunk)])


class NAM(_Scaled):
    """A neural additive model: f(x) = bias + sum_j net_j(x_j), one small MLP per feature."""

    def __init__(self, d, k, hidden, **scale):
        super().__init__(**scale)
        self.body = _FeatureNets(d, k, hidden)


def fit_net(kind: str, X, y, *, task: str, hidden: int | None = None, epochs: int = 60, batch_size: int = 64,
            lr: float = 3e-3, weight_decay: float = 1e-4, random_state: int = 0):
    """Fit an "mlp" or a "nam" with Adam (cross-entropy for classes 0..k-1, squared error for regression).

    Seeded inside ``torch.random.fork_rng``; returns the network in eval mode without gradients.
    """
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    if task == "classification":
        k, scale = int(np.max(y)) + 1, {}
        target = torch.as_tensor(np.asarray(y), dtype=torch.long)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        y = np.asarray(y, dtype=float)
        k, scale = 1, {"y_mean": y.mean(), "y_sd": y.std() or 1.0}
        target = torch.as_tensor((y - y.mean()) / (y.std() or 1.0), dtype=torch.float32)[:, None]
        loss_fn = torch.nn.MSELoss()
    from ..datasets._cnn import train_torch

    make = {"mlp": MLP, "nam": NAM}[kind]
    hidden = hidden or (32 if kind == "mlp" else 8)
    return train_torch(lambda: make(X.shape[1], k, hidden, mean=mean, sd=sd, **scale), X, target, epochs=epochs,
                       batch_size=batch_size, lr=lr, random_state=random_state, weight_decay=weight_decay,
                       loss_fn=loss_fn, forward=lambda net, x: net.body((x - net.mean) / net.sd))  # scaled target

"""The zoo's small CNN for 8x8 digits, built and trained in plain torch on the CPU.

This code is the source of truth for the CNN's weights: training is seeded
(inside ``torch.random.fork_rng``, so the caller's global RNG is untouched)
and takes a few seconds. ReLUs are modules, each used once, so DeepLift's
rules apply layer by layer. Pooling is by average, not max: captum 0.9's DeepLift on
MaxPool2d broke summation-to-delta on this network (convergence deltas up to 2.1
logits, measured), while with AvgPool2d the deltas are float32 round-off (1e-5).
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_cnn", "train_cnn", "make_mlp", "train_torch"]


def make_cnn(n_classes: int = 10, channels: int = 1, size: int = 8):
    """Conv(8) - ReLU - Conv(16) - ReLU - AvgPool(size/4) - Linear(64) - ReLU - Linear(n_classes).

    Images of ``size`` x ``size`` (a multiple of 4) pool to a 4x4 grid: AvgPool(2) on the 8x8 digits,
    AvgPool(8) on the 32x32 upscaled ones. The pooling is fixed, so images of another size are refused.
    """
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(channels, 8, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(),
        nn.AvgPool2d(size // 4), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, n_classes),
    )


def make_mlp(n_features: int, n_classes: int, hidden: int = 32):
    """Linear(hidden) - ReLU - Linear(hidden) - ReLU - Linear(n_classes): the tabular deep model."""
    import torch.nn as nn

    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_classes))


def train_cnn(images: np.ndarray, y: np.ndarray, *, epochs: int = 30, batch_size: int = 64, lr: float = 3e-3,
              random_state: int = 0):
    """Fit ``make_cnn()`` on images (N, C, H, W) scaled to [0, 1]; returns the model in eval mode."""
    return train_torch(lambda: make_cnn(int(np.max(y)) + 1, images.shape[1], images.shape[-1]), images, y, epochs=epochs,
                       batch_size=batch_size, lr=lr, random_state=random_state)


def train_torch(make, X: np.ndarray, y, *, epochs: int = 30, batch_size: int = 64, lr: float = 3e-3,
                random_state: int = 0, weight_decay: float = 0.0, loss_fn=None, forward=None):
    """Fit ``make()`` with Adam in shuffled mini-batches, seeded without touching torch's global RNG; eval mode.

    ``y`` holds class indices for the default cross-entropy, or a ready target tensor for another ``loss_fn``;
    ``forward(model, inputs)`` replaces ``model(inputs)`` in training (e.g. a network trained in a scaled space).
    """
    import torch

    images = X
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        model = make()
        X = torch.tensor(np.asarray(images, dtype=np.float32))
        t = y if isinstance(y, torch.Tensor) else torch.tensor(np.asarray(y), dtype=torch.long)
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn = loss_fn or torch.nn.CrossEntropyLoss()
        forward = forward or (lambda net, inputs: net(inputs))
        gen = torch.Generator().manual_seed(random_state)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(X), generator=gen)
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                opt.zero_grad()
                loss_fn(forward(model, X[idx]), t[idx]).backward()
                opt.step()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model

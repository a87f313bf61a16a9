"""Images as rows: flatten (N, C, H, W) or (N, H, W) inputs, name pixels, build feature groups.

Every family is explained on the same flat pixels, so a CNN, a GLM and a
forest yield explanations of one shape; ``image_shape`` remembers how to fold
them back into pictures.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = ["split_images", "pixel_names", "resolve_groups"]


def _as_array(X):
    """torch tensors (any device) become numpy arrays; other inputs pass through."""
    if type(X).__module__.split(".")[0] == "torch":
        return X.detach().cpu().numpy()
    return X


def split_images(X, image_shape=None, *, what="X"):
    """Return ``(X as 2-D, image_shape or None)``.

    Parameters
    ----------
    X : array-like, DataFrame or tensor
        (N, d) rows, or (N, H, W) / (N, C, H, W) images.
    image_shape : tuple of int, optional
        Shape of one image when X is already flat (e.g. digit pixels as 64 columns).
    """
    X = _as_array(X)
    if hasattr(X, "ndim") and X.ndim > 2 and not hasattr(X, "columns"):
        shape = tuple(int(s) for s in X.shape[1:])
        if image_shape is not None and tuple(image_shape) != shape:
            raise DataError(f"{what} holds images of shape {shape} but image_shape={tuple(image_shape)}.")
        return np.asarray(X).reshape(X.shape[0], -1), shape
    if image_shape is not None:
        image_shape = tuple(int(s) for s in image_shape)
        width = np.shape(X)[1] if np.ndim(X) == 2 else None
        if width is not None and width != int(np.prod(image_shape)):
            raise DataError(f"{what} has {width} columns but image_shape {image_shape} holds "
                            f"{int(np.prod(image_shape))} pixels.")
    return X, image_shape


def pixel_names(image_shape) -> list[str]:
    """``pixel_r_c`` for one channel (as in ``datasets.load_images``), ``pixel_ch_r_c`` for several."""
    shape = tuple(image_shape)
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    return ["pixel_" + "_".join(str(i) for i in idx) for idx in np.ndindex(*shape)]


def resolve_groups(feature_groups, image_shape, n_features: int) -> np.ndarray | None:
    """Group label per feature (0..G-1), or None.

    ``feature_groups`` is ``"patches:k"`` (k x k pixel squares, all channels
    together), an integer array with one label per pixel (a segmentation of
    shape (H, W), or of the full image shape), or one label per feature.
    """
    if feature_groups is None:
        return None
    if isinstance(feature_groups, str):
        if not feature_groups.startswith("patches:") or image_shape is None:
            raise DataError(f"feature_groups={feature_groups!r}: use 'patches:k' on images, or pass an integer "
                            "label array (one label per pixel or per feature).")
        k = int(feature_groups.split(":", 1)[1])
        h, w = image_shape[-2:]
        rows, cols = np.arange(h)[:, None] // k, np.arange(w)[None, :] // k
        labels = rows * int(np.ceil(w / k)) + cols
    else:
        labels = np.asarray(feature_groups)
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"feature_groups must hold integer labels, got dtype {labels.dtype}.")
    if image_shape is not None and labels.shape == tuple(image_shape[-2:]) and len(image_shape) == 3:
        labels = np.broadcast_to(labels, tuple(image_shape))
    labels = labels.reshape(-1)
    if labels.size != n_features:
        raise DataError(f"feature_groups has {labels.size} labels but there are {n_features} features"
                        + (f" (images of shape {tuple(image_shape)})" if image_shape else "") + ".")
    _, dense = np.unique(labels, return_inverse=True)
    return dense.reshape(-1)

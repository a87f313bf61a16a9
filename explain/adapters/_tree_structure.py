"""One tree representation read from each library's fitted structures, with that library's split semantics.

Every supported tree library is read into a :class:`TreeEnsemble`: flat node
arrays over all trees, leaf values per output (already multiplied by the tree's
weight, so the model output is ``offset + sum of the reached leaves``), and the
rules by which a value goes left at a node:

============  ===================  =======================  =======================================
library       values compared as   numeric split            missing values / categories
============  ===================  =======================  =======================================
scikit-learn  float32              ``x <= t``               ``missing_go_to_left`` per node
HistGB        float64              ``x <= t``               per node; categories: left bitset, known
                                                            bitset, unknown and negative as missing
XGBoost       float32              ``x < t``                ``default_left``; categories go right
LightGBM      float64              ``x <= t``               ``missing_type`` None (NaN as 0), Zero,
                                                            NaN; categories in the set go left
============  ===================  =======================  =======================================

Categorical nodes carry a direction per category code (0 right, 1 left, 2 as
missing) and one for codes outside the table. Nothing here imports a library:
the adapter passes its fitted estimator in.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass

import numpy as np

__all__ = ["TreeEnsemble", "read_ensemble", "LEFT", "RIGHT", "MISSING"]

RIGHT, LEFT, MISSING = 0, 1, 2
KIND_LE, KIND_LT, KIND_CAT = 0, 1, 2


@dataclass
class TreeEnsemble:
    """Flat arrays of every node of every tree (see the module docstring).

    ``value`` is (n_nodes, n_outputs), zero for internal nodes; ``offset`` the
    constant added to the leaves' sum, filled by :meth:`calibrate`.
    """

    feature: np.ndarray
    threshold: np.ndarray
    kind: np.ndarray
    missing_left: np.ndarray
    zero_missing: np.ndarray
    nan_as_zero: np.ndarray
    left: np.ndarray
    right: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    cat_unknown: np.ndarray
    cat_dir: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    float32_inputs: bool
    library: str
    offset: np.ndarray | None = None
    #: Applied to the estimator's inputs before routing (HistGradientBoosting's own category encoder).
    input_transform: object = None
    #: Input column each routed column comes from (the transform may reorder columns).
    feature_origin: np.ndarray | None = None

    @property
    def n_outputs(self) -> int:
        return self.value.shape[1]

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Values as the library compares them (float32 rounding for scikit-learn trees and XGBoost)."""
        if self.input_transform is not None:
            X = self.input_transform(X)
        X = np.asarray(X, dtype=float)
        if self.float32_inputs:
            X = X.astype(np.float32).astype(np.float64)
        return np.ascontiguousarray(X)  # one memory layout, so the compiled kernels are compiled once

    def leaf_sum(self, X: np.ndarray) -> np.ndarray:
        """Sum of the reached leaves' values, (n, n_outputs), without the offset."""
        from ._tree_kernels import predict_leaves

        return predict_leaves(self, self.prepare(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.offset is None:
            raise RuntimeError("call calibrate() first: the constant term is read off the model's own output")
        return self.leaf_sum(X) + self.offset

    def calibrate(self, X: np.ndarray, model_output: np.ndarray) -> float:
        """Set ``offset`` from the model's output on rows X; return the largest deviation (0 if exact)."""
        diff = np.asarray(model_output, float).reshape(len(X), -1) - self.leaf_sum(X)
        self.offset = diff.mean(axis=0)
        return float(np.abs(diff - self.offset).max())


class _Builder:
    """Accumulates trees node by node into the flat arrays."""

    def __init__(self, n_outputs: int):
        self.n_outputs = n_outputs
        self.cols = {k: [] for k in ("feature", "threshold", "kind", "missing_left", "zero_missing", "nan_as_zero",
                                     "left", "right", "cat_start", "cat_len", "cat_unknown")}
        self.values, self.cat_dir, self.roots = [], [], []

    @property
    def n(self) -> int:
        return len(self.cols["feature"])

    def node(self, *, feature=-1, threshold=0.0, kind=KIND_LE, missing_left=False, zero_missing=False,
             nan_as_zero=False, cats=None, cat_unknown=MISSING, value=None) -> int:
        i = self.n
        c = self.cols
        c["feature"].append(feature)
        c["threshold"].append(threshold)
        c["kind"].append(kind)
        c["missing_left"].append(bool(missing_left))
        c["zero_missing"].append(bool(zero_missing))
        c["nan_as_zero"].append(bool(nan_as_zero))
        c["left"].append(-1)
        c["right"].append(-1)
        c["cat_start"].append(len(self.cat_dir))
        c["cat_len"].append(0 if cats is None else len(cats))
        c["cat_unknown"].append(cat_unknown)
        if cats is not None:
            self.cat_dir.extend(int(v) for v in cats)
        row = np.zeros(self.n_outputs)
        if value is not None:
            row[:] = value
        self.values.append(row)
        return i

    def link(self, parent, left, right):
        self.cols["left"][parent] = left
        self.cols["right"][parent] = right

    def build(self, float32_inputs, library) -> TreeEnsemble:
        c = self.cols
        return TreeEnsemble(
            feature=np.asarray(c["feature"], np.int64), threshold=np.asarray(c["threshold"], np.float64),
            kind=np.asarray(c["kind"], np.int64), missing_left=np.asarray(c["missing_left"], np.bool_),
            zero_missing=np.asarray(c["zero_missing"], np.bool_), nan_as_zero=np.asarray(c["nan_as_zero"], np.bool_),
            left=np.asarray(c["left"], np.int64), right=np.asarray(c["right"], np.int64),
            cat_start=np.asarray(c["cat_start"], np.int64), cat_len=np.asarray(c["cat_len"], np.int64),
            cat_unknown=np.asarray(c["cat_unknown"], np.int64),
            cat_dir=np.asarray(self.cat_dir if self.cat_dir else [0], np.int64),
            value=np.asarray(self.values, np.float64).reshape(-1, self.n_outputs),
            roots=np.asarray(self.roots, np.int64), float32_inputs=float32_inputs, library=library)


# -- scikit-learn ---------------------------------------------------------------------------------
def _sklearn_trees(est):
    """(tree, weight, output columns, normalise) of every tree of a scikit-learn tree model."""
    name = type(est).__name__
    if "GradientBoosting" in name and "Hist" not in name:
        grid = np.asarray(est.estimators_)
        return grid.shape[1], [(tree, float(est.learning_rate), [j], False)
                               for row in grid for j, tree in enumerate(row)]
    classifier = hasattr(est, "classes_")
    trees = list(est.estimators_) if hasattr(est, "estimators_") else [est]
    k = len(est.classes_) if classifier else 1
    # classifier trees: class fractions per node (predict_proba's per-tree values)
    return k, [(tree, 1.0 / len(trees), list(range(k)), classifier) for tree in trees]


def _read_sklearn(est) -> TreeEnsemble:
    """Whole arrays per tree (``tree_.feature``, ``threshold``, ``children_left`` ...), concatenated."""
    k, spec = _sklearn_trees(est)
    parts = {key: [] for key in ("feature", "threshold", "missing_left", "left", "right", "value")}
    roots, base = [], 0
    for tree, weight, out_cols, normalise in spec:
        t = tree.tree_
        n = int(t.node_count)
        left = np.asarray(t.children_left, np.int64)
        leaf = left == -1
        vals = np.asarray(t.value[:, 0, :], np.float64)  # (nodes, classes) or (nodes, 1)
        if normalise:
            vals = vals / np.maximum(vals.sum(axis=1, keepdims=True), 1e-300)
        value = np.zeros((n, k))
        value[:, out_cols] = weight * vals
        value[~leaf] = 0.0
        missing = getattr(t, "missing_go_to_left", None)
        parts["feature"].append(np.where(leaf, -1, np.asarray(t.feature, np.int64)))
        parts["threshold"].append(np.asarray(t.threshold, np.float64))
        parts["missing_left"].append(np.zeros(n, np.bool_) if missing is None else np.asarray(missing, np.bool_))
        parts["left"].append(np.where(leaf, -1, left + base))
        parts["right"].append(np.where(leaf, -1, np.asarray(t.children_right, np.int64) + base))
        parts["value"].append(value)
        roots.append(base)
        base += n
    cat = {key: np.concatenate(v) for key, v in parts.items()}
    zeros = np.zeros(base, np.int64)
    return TreeEnsemble(
        feature=cat["feature"], threshold=cat["threshold"], kind=np.full(base, KIND_LE, np.int64),
        missing_left=cat["missing_left"], zero_missing=np.zeros(base, np.bool_),
        nan_as_zero=np.zeros(base, np.bool_), left=cat["left"], right=cat["right"], cat_start=zeros,
        cat_len=zeros.copy(), cat_unknown=np.full(base, MISSING, np.int64), cat_dir=np.zeros(1, np.int64),
        value=cat["value"], roots=np.asarray(roots, np.int64), float32_inputs=True, library="sklearn")


def _read_hist(est) -> TreeEnsemble:
    predictors = est._predictors
    k = len(predictors[0])
    b = _Builder(k)
    known_bits, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    for iteration in predictors:
        for j, pred in enumerate(iteration):
            nodes = pred.nodes
            raw_left = pred.raw_left_cat_bitsets
            base = b.n
            for i, node in enumerate(nodes):
                if node["is_leaf"]:
                    value = np.zeros(k)
                    value[j] = float(node["value"])
                    b.node(value=value)
                    continue
                f = int(node["feature_idx"])
                if node["is_categorical"]:
                    left_set = _bits(raw_left[int(node["bitset_idx"])])
                    known_set = _bits(known_bits[int(f_idx_map[f])])
                    size = max([*left_set, *known_set, -1]) + 1
                    cats = [LEFT if c in left_set else RIGHT if c in known_set else MISSING for c in range(size)]
                    b.node(feature=f, kind=KIND_CAT, missing_left=bool(node["missing_go_to_left"]), cats=cats,
                           cat_unknown=MISSING)
                else:
                    b.node(feature=f, threshold=float(node["num_threshold"]), kind=KIND_LE,
                           missing_left=bool(node["missing_go_to_left"]))
            for i, node in enumerate(nodes):
                if not node["is_leaf"]:
                    b.link(base + i, base + int(node["left"]), base + int(node["right"]))
            b.roots.append(base)
    ens = b.build(False, "sklearn.hist")
    pre = getattr(est, "_preprocessor", None)
    if pre is not None:  # categorical columns are ordinal-encoded and moved first before the trees see them
        n_in = int(est.n_features_in_)
        origin = []
        for _, _, cols in pre.transformers_:
            idx = np.arange(n_in)[cols] if np.asarray(cols).dtype == bool else np.asarray(cols, dtype=int)
            origin.extend(int(i) for i in np.atleast_1d(idx))
        ens.input_transform = pre.transform
        ens.feature_origin = np.asarray(origin, dtype=np.int64)
    return ens


def _bits(words) -> set:
    """Category codes set in a scikit-learn bitset (8 uint32 words = codes 0..255)."""
    out = set()
    for w, word in enumerate(np.asarray(words, dtype=np.uint64)):
        for bit in range(32):
            if (int(word) >> bit) & 1:
                out.add(w * 32 + bit)
    return out


# -- XGBoost --------------------------------------------------------------------------------------
def _read_xgboost(booster, n_outputs) -> TreeEnsemble:
    model = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    if model.get("name") not in (None, "gbtree") and "model" not in model:
        raise ValueError(f"XGBoost booster {model.get('name')!r} is not a tree booster")
    model = model["model"] if "model" in model else model["gbtree"]["model"]
    b = _Builder(n_outputs)
    for tree, klass in zip(model["trees"], model["tree_info"]):
        base = b.n
        left, right = tree["left_children"], tree["right_children"]
        cond, feat = tree["split_conditions"], tree["split_indices"]
        default_left = tree["default_left"]
        split_type = tree.get("split_type", [0] * len(left))
        cats = {}
        for node, start, size in zip(tree.get("categories_nodes", []), tree.get("categories_segments", []),
                                     tree.get("categories_sizes", [])):
            cats[node] = set(tree["categories"][start:start + size])
        for i in range(len(left)):
            if left[i] == -1:
                value = np.zeros(n_outputs)
                value[int(klass) if n_outputs > 1 else 0] = float(np.float32(cond[i]))
                b.node(value=value)
            elif split_type[i] == 1:  # categorical: listed categories go right
                chosen = cats.get(i, set())
                size = max(chosen, default=-1) + 1
                b.node(feature=int(feat[i]), kind=KIND_CAT, missing_left=bool(default_left[i]),
                       cats=[RIGHT if c in chosen else LEFT for c in range(size)], cat_unknown=LEFT)
            else:
                b.node(feature=int(feat[i]), threshold=float(np.float32(cond[i])), kind=KIND_LT,
                       missing_left=bool(default_left[i]))
        for i in range(len(left)):
            if left[i] != -1:
                b.link(base + i, base + int(left[i]), base + int(right[i]))
        b.roots.append(base)
    return b.build(True, "xgboost")


# -- LightGBM -------------------------------------------------------------------------------------
def _read_lightgbm(booster) -> TreeEnsemble:
    dump = booster.dump_model()
    if dump.get("average_output"):
        raise ValueError("LightGBM random-forest mode (average_output) is not supported")
    k = int(dump["num_tree_per_iteration"])
    b = _Builder(k)
    for info in dump["tree_info"]:
        klass = int(info["tree_index"]) % k
        b.roots.append(_lgb_node(b, info["tree_structure"], klass))  # leaf values include the shrinkage
    return b.build(False, "lightgbm")


def _lgb_node(b: _Builder, node: dict, klass: int) -> int:
    if "leaf_value" in node:
        value = np.zeros(b.n_outputs)
        value[klass] = float(node["leaf_value"])
        return b.node(value=value)
    missing = node.get("missing_type", "None")
    if node["decision_type"] == "==":
        chosen = {int(c) for c in str(node["threshold"]).split("||")}
        size = max(chosen) + 1
        i = b.node(feature=int(node["split_feature"]), kind=KIND_CAT, missing_left=False,
                   cats=[LEFT if c in chosen else RIGHT for c in range(size)], cat_unknown=RIGHT)
    else:
        i = b.node(feature=int(node["split_feature"]), threshold=float(node["threshold"]), kind=KIND_LE,
                   missing_left=bool(node.get("default_left", True)) if missing != "None" else
                   bool(0.0 <= float(node["threshold"])),
                   zero_missing=missing == "Zero", nan_as_zero=missing == "None")
    left = _lgb_node(b, node["left_child"], klass)
    right = _lgb_node(b, node["right_child"], klass)
    b.link(i, left, right)
    return i


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _fitted_state(library: str, estimator) -> tuple:
    """What changes when the estimator is refitted: its fitted tree objects (held, so compared by identity)."""
    if library == "xgboost":
        booster = estimator.get_booster() if hasattr(estimator, "get_booster") else estimator
        return booster, int(booster.num_boosted_rounds())
    if library == "lightgbm":
        booster = estimator.booster_ if hasattr(estimator, "booster_") else estimator
        return booster, int(booster.current_iteration()), int(booster.num_trees())
    if hasattr(estimator, "_predictors"):
        return tuple(p for it in estimator._predictors for p in it)
    trees = np.ravel(estimator.estimators_) if hasattr(estimator, "estimators_") else [estimator]
    return tuple(t.tree_ for t in trees)


def read_ensemble(library: str, estimator, n_outputs: int) -> TreeEnsemble:
    """The :class:`TreeEnsemble` of a fitted estimator (or Booster) of ``library``, read once per fit.

    Kept in a weak cache keyed by the estimator object: the same fitted model gives the same ensemble (do not
    mutate it), a refit (new tree objects) or a dropped model reads afresh.
    """
    try:
        state = (n_outputs, _fitted_state(library, estimator))
        with _CACHE_LOCK:
            hit = _CACHE.get(estimator)
    except TypeError:  # not weakly referenceable or not hashable: read every time
        return _read_ensemble(library, estimator, n_outputs)
    if hit is not None and len(hit[0]) == len(state) and hit[0][0] == state[0] and \
            _same(hit[0][1], state[1]):
        return hit[1]
    ens = _read_ensemble(library, estimator, n_outputs)
    with _CACHE_LOCK:
        _CACHE[estimator] = (state, ens)
    return ens


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y or (isinstance(x, int) and x == y) for x, y in zip(a, b))


def _read_ensemble(library: str, estimator, n_outputs: int) -> TreeEnsemble:
    if library == "xgboost":
        booster = estimator.get_booster() if hasattr(estimator, "get_booster") else estimator
        return _read_xgboost(booster, n_outputs)
    if library == "lightgbm":
        return _read_lightgbm(estimator.booster_ if hasattr(estimator, "booster_") else estimator)
    if hasattr(estimator, "_predictors"):
        return _read_hist(estimator)
    return _read_sklearn(estimator)

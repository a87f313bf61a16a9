"""Our exact interventional TreeSHAP: per-feature equality with enumeration on float64 data, every library.

The data is float64 and not float32-representable, has integer-valued columns
equal to split thresholds, and (where the library handles it) NaN: the cases
where shap's TreeExplainer moved credit between features while the sum stayed
right (issues 9 and 11). The reference is the textbook enumeration in
``tests/helpers.py``, written independently of the package.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from explain import explain
from explain.adapters import get_adapter
from helpers import naive_shapley, shapley_of_game

D = 6


def _data(seed=0, n=500, nan=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)) * np.array([1.0, 3.0, 0.5, 1.0, 2.0, 1.0]) + 0.1234567891234
    X[:, 3] = np.round(X[:, 3] * 2)  # integer values: many sit exactly on thresholds
    z = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3] - 0.3 * X[:, 4] * (X[:, 5] > 0)
    if nan:
        X[rng.random(X.shape) < 0.08] = np.nan
    assert not np.array_equal(X[:, 0], X[:, 0].astype(np.float32).astype(float))
    return X, z


def _models():
    import lightgbm
    import xgboost
    from sklearn import ensemble, tree

    return {
        "decision_tree_reg": (lambda: tree.DecisionTreeRegressor(max_depth=14, random_state=0), "regression", False),
        "random_forest_reg": (lambda: ensemble.RandomForestRegressor(15, max_depth=7, random_state=0), "regression",
                              True),
        "extra_trees_clf": (lambda: ensemble.ExtraTreesClassifier(15, max_depth=6, random_state=0), "binary", False),
        "random_forest_multi": (lambda: ensemble.RandomForestClassifier(10, max_depth=6, random_state=0),
                                "multiclass", True),
        "gradient_boosting_reg": (lambda: ensemble.GradientBoostingRegressor(n_estimators=25, random_state=0),
                                  "regression", False),
        "gradient_boosting_multi": (lambda: ensemble.GradientBoostingClassifier(n_estimators=10, random_state=0),
                                    "multiclass", False),
        "hist_gb_binary": (lambda: ensemble.HistGradientBoostingClassifier(max_iter=25), "binary", True),
        "hist_gb_multi": (lambda: ensemble.HistGradientBoostingClassifier(max_iter=10), "multiclass", True),
        "xgboost_binary": (lambda: xgboost.XGBClassifier(n_estimators=25, max_depth=4), "binary", True),
        "xgboost_multi": (lambda: xgboost.XGBClassifier(n_estimators=8, max_depth=3), "multiclass", True),
        "lightgbm_reg": (lambda: lightgbm.LGBMRegressor(n_estimators=25, num_leaves=12, verbose=-1), "regression",
                         True),
        "lightgbm_multi": (lambda: lightgbm.LGBMClassifier(n_estimators=8, num_leaves=8, verbose=-1), "multiclass",
                           True),
    }


def _target(z, task):
    if task == "regression":
        return z
    if task == "binary":
        return (z > np.median(z)).astype(int)
    return np.digitize(z, np.quantile(z, [1 / 3, 2 / 3]))


def _tolerance(model):
    return 1e-6 if type(model).__module__.startswith("xgboost") else 1e-9


@pytest.fixture(scope="module", params=list(_models()))
def fitted(request):
    make, task, nan = _models()[request.param]
    X, z = _data(nan=nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().fit(X[:400], _target(z[:400], task))
    return request.param, model, X


def test_matches_enumeration_per_feature(fitted):
    name, model, X = fitted
    rows, bg = X[400:405], X[:40]
    e = explain(model, rows, methods="shap", background=bg)["shap"]
    assert e.params["exact"] and e.params["algorithm"].startswith("exact interventional TreeSHAP")
    adapter = get_adapter(model)
    for i in range(len(rows)):
        t = None if e.target is None else int(e.target[i])
        f = adapter.output_function(e.output, t)
        ref, base = naive_shapley(f, rows[i], bg)
        np.testing.assert_allclose(e.values[i], ref, atol=_tolerance(model) * max(1, np.abs(ref).max()), rtol=0,
                                   err_msg=name)
        assert e.base_values[i] == pytest.approx(base, abs=1e-9)


def test_representation_predicts_like_the_model(fitted):
    name, model, X = fitted
    adapter = get_adapter(model)
    ens = adapter.tree_ensemble()
    out = adapter.predict(X, adapter.natural_output)
    cols = out[:, 1:] if ens.n_outputs == 1 and out.shape[1] == 2 else out
    ens.calibrate(X[:200], cols[:200])  # the constant term (init score / base margin) from the model itself
    np.testing.assert_allclose(ens.predict(X[200:]), cols[200:], rtol=0, atol=_tolerance(model) * 10, err_msg=name)


def test_every_class_of_a_multiclass_model():
    from sklearn.ensemble import GradientBoostingClassifier

    X, z = _data(seed=3)
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X[:300], _target(z[:300], "multi"))
    rows = X[300:303]
    adapter = get_adapter(model)
    for t in range(3):
        e = explain(model, rows, methods="shap.tree", background=X[:30], target=t)["shap.tree"]
        ref = np.array([naive_shapley(adapter.output_function("margin", t), r, X[:30])[0] for r in rows])
        np.testing.assert_allclose(e.values, ref, atol=1e-9)


def test_native_categorical_splits():
    import lightgbm
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(5)
    X, z = _data(seed=5)
    X[:, 2] = rng.integers(0, 6, len(X))
    z = z + np.where(np.isin(X[:, 2], [1, 4]), 2.0, -1.0)
    X[rng.random(len(X)) < 0.05, 2] = np.nan
    models = [HistGradientBoostingRegressor(max_iter=20, categorical_features=[2]).fit(X[:400], z[:400]),
              lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8, verbose=-1, min_data_per_group=5,
                                     cat_smooth=1).fit(X[:400], z[:400], categorical_feature=[2])]
    rows = np.vstack([X[400:404], [[0.1, 0.2, 7.0, 1.0, 0.0, 0.5]]])  # code 7: a category never seen
    for model in models:
        e = explain(model, rows, methods="shap", background=X[:40])["shap"]
        f = get_adapter(model).output_function("raw", None)
        ref = np.array([naive_shapley(f, r, X[:40])[0] for r in rows])
        np.testing.assert_allclose(e.values, ref, atol=1e-9, err_msg=type(model).__name__)
        assert np.abs(e.values[:, 2]).max() > 0.1  # the categorical column carries credit


@pytest.mark.parametrize("route", ["table", "walk"])
def test_deep_trees_and_wide_paths(route, monkeypatch):
    """Trees deeper than 12 on 8 features: the leaf table takes them (at most 12 distinct players on a path);
    forced to the walk, the same enumeration."""
    from sklearn.ensemble import RandomForestRegressor

    from explain.methods import tree_shapley as ts

    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 8))
    z = X @ rng.normal(size=8) + np.prod(np.sign(X[:, :3]), axis=1)
    model = RandomForestRegressor(4, max_leaf_nodes=150, random_state=0).fit(X, z)  # grown leaf-wise, 11-16 deep
    assert max(t.get_depth() for t in model.estimators_) >= 13
    ens = get_adapter(model).tree_ensemble()
    if route == "walk":
        monkeypatch.setattr(ts, "TABLE_PLAYERS", 0)
    chosen = ts.table_trees(ens, np.arange(8), ts.TABLE_DEPTH, ts.TABLE_PLAYERS)
    assert chosen.all() if route == "table" else not chosen[ts.tree_depths(ens) > ts.TABLE_DEPTH].any()
    rows, bg = rng.normal(size=(3, 8)), X[:25]
    e = explain(model, rows, methods="shap", background=bg)["shap"]
    f = get_adapter(model).output_function("raw", None)
    ref = np.array([naive_shapley(f, r, bg)[0] for r in rows])
    np.testing.assert_allclose(e.values, ref, atol=1e-9)


def test_grouped_players_are_the_grouped_game():
    from sklearn.ensemble import RandomForestRegressor

    from explain.methods.tree_shapley import tree_shapley

    X, z = _data(seed=2)
    model = RandomForestRegressor(10, max_depth=6, random_state=0).fit(X, z)
    ens = get_adapter(model).tree_ensemble()
    players = np.array([0, 0, 1, 2, 2, 3])
    rows, bg = X[:3], X[100:130]
    phi = tree_shapley(ens, rows, bg, 0, players=players)

    def grouped(x):  # the grouped game by enumeration: a player brings all its columns
        def v(S):
            Z = bg.copy()
            cols = [j for j in range(D) if players[j] in S]
            Z[:, cols] = x[cols]
            return model.predict(Z).mean()
        return shapley_of_game(v, 4)[0]

    ref = np.array([grouped(x) for x in rows])
    np.testing.assert_allclose(phi, ref, atol=1e-9)


def test_agrees_with_shap_where_shap_is_right():
    import shap
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5)).astype(np.float32).astype(float)  # float32-representable, continuous: no ties
    z = X[:, 0] * X[:, 1] + X[:, 2]
    model = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, z)
    bg = X[:50]
    ours = explain(model, X[200:210], methods="shap", background=bg)["shap"].values
    theirs = shap.TreeExplainer(model, shap.maskers.Independent(bg, max_samples=50)).shap_values(X[200:210])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    kept = explain(model, X[200:210], methods="shap.tree_shap_lib", background=bg)["shap.tree_shap_lib"]
    np.testing.assert_allclose(kept.values, theirs, atol=1e-9)  # shap's own stays available, unchanged


def _most_distinct_on_a_path(ens):
    from explain.adapters._tree_kernels import leaf_paths_of

    _, starts, lengths, path_node, _ = leaf_paths_of(ens)
    return max(len(set(ens.feature[path_node[s:s + h]])) for s, h in zip(starts, lengths))


@pytest.mark.slow
def test_deep_forest_with_many_distinct_features_on_a_path():
    """Default-depth trees whose paths test more than 12 distinct features, float64 data, per feature."""
    from sklearn.ensemble import RandomForestRegressor

    d = 13
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, d)) * np.linspace(0.5, 2.0, d) + 0.1234567891234
    z = np.sin(X).sum(axis=1) + X[:, 0] * X[:, 1] + rng.normal(scale=0.2, size=len(X))
    model = RandomForestRegressor(3, random_state=0).fit(X[:2500], z[:2500])
    ens = get_adapter(model).tree_ensemble()
    assert _most_distinct_on_a_path(ens) > 12
    rows, bg = X[2500:2502], X[2600:2612]
    e = explain(model, rows, methods="shap", background=bg)["shap"]

    def f(Z):  # the forest's average, tree by tree (sklearn's own routing, without its thread pool)
        return np.mean([t.predict(Z) for t in model.estimators_], axis=0)

    for i, x in enumerate(rows):
        ref, _ = naive_shapley(f, x, bg)
        np.testing.assert_allclose(e.values[i], ref, atol=1e-9 * max(1, np.abs(ref).max()), rtol=0)


@pytest.mark.slow
def test_more_players_than_a_mask_holds():
    """70 columns (the walk keeps failed players in a 64-bit mask; beyond it the leaf-pattern loop runs):
    columns no tree tests are null players, so the game of the tested columns is the reference."""
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 70)) + 0.1234567891234
    z = X[:, 3] * X[:, 40] + np.sin(X[:, 66]) + X[:, 10]
    model = RandomForestRegressor(3, max_depth=3, max_features=None, random_state=0).fit(X, z)
    rows, bg = X[:2], X[100:120]
    e = explain(model, rows, methods="shap", background=bg)["shap"]
    used = np.unique(get_adapter(model).tree_ensemble().feature)
    used = used[used >= 0]
    assert len(used) <= 10
    for i, x in enumerate(rows):
        def f(Zu, x=x):
            Z = np.tile(x, (len(Zu), 1))
            Z[:, used] = Zu
            return np.mean([t.predict(Z) for t in model.estimators_], axis=0)

        ref, _ = naive_shapley(f, x[used], bg[:, used])
        np.testing.assert_allclose(e.values[i, used], ref, atol=1e-9)
        assert np.all(np.delete(e.values[i], used) == 0.0)


def test_trees_are_read_once_per_fit():
    from sklearn.ensemble import RandomForestRegressor

    X, z = _data(seed=9)
    model = RandomForestRegressor(5, max_depth=4, random_state=0).fit(X, z)
    first = get_adapter(model).tree_ensemble()
    assert get_adapter(model).tree_ensemble() is first  # a new adapter, the same fitted model: not read again
    model.fit(X[:200], z[:200])  # refitted in place: new trees
    again = get_adapter(model).tree_ensemble()
    assert again is not first
    again.calibrate(X[:50], model.predict(X[:50]))
    np.testing.assert_allclose(again.predict(X[200:])[:, 0], model.predict(X[200:]), atol=1e-9)
    other = RandomForestRegressor(5, max_depth=4, random_state=0).fit(X, z)  # equal but another object
    assert get_adapter(other).tree_ensemble() is not again


def test_leaf_table_and_walk_agree_tree_by_tree(fitted, monkeypatch):
    """Every tree explained by the leaf-table kernel, then by the walk: the same values (each kernel is also
    checked against enumeration above, whichever the trees' depth picks), NaN and ties with thresholds included."""
    from explain.methods import tree_shapley as ts

    name, model, X = fitted
    ens = get_adapter(model).tree_ensemble()
    rows, bg = X[400:430], X[:60]
    if not ts.table_trees(ens, np.arange(X.shape[1])).all():
        pytest.skip("paths with more distinct players than the leaf table holds")
    table = ts.tree_shapley(ens, rows, bg, 0)
    monkeypatch.setattr(ts, "TABLE_DEPTH", 0)
    monkeypatch.setattr(ts, "TABLE_PLAYERS", 0)
    walk = ts.tree_shapley(ens, rows, bg, 0)
    np.testing.assert_allclose(table, walk, rtol=0, atol=1e-12 * max(1.0, np.abs(walk).max()), err_msg=name)
    assert np.abs(walk).max() > 0

"""Streaming explanations to Parquet and reading them back lazily."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from explain import explain, read_explanations, to_parquet
from explain.errors import DataError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(260, 4)) * [1.0, 2.0, 0.3, 5.0] + 0.1, columns=["a", "b", "c", "d"])
    y = (X.a + X.b / 2 - X.d / 5 > 0).astype(int).to_numpy()
    return X, y


def test_file_equals_explain_for_any_batch_size(data, tmp_path):
    X, y = data
    model = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
    kw = dict(methods=["shap", "lime"], background=X.iloc[200:240], random_state=3,
              method_params={"lime": {"num_samples": 200}})
    direct = explain(model, X.iloc[:50], **kw)
    path = to_parquet(model, X.iloc[:50], tmp_path / "e.parquet", batch_size=13, **kw)
    reader = read_explanations(path)
    assert reader.methods == ["shap", "lime"] and reader.feature_names == ["a", "b", "c", "d"]
    assert reader.n_rows == 50 and reader.output == direct["shap"].output
    for m in reader.methods:
        back = reader.to_explanation(m)
        np.testing.assert_array_equal(back.values, direct[m].values)
        np.testing.assert_array_equal(back.base_values, direct[m].base_values)
        np.testing.assert_array_equal(back.data, X.iloc[:50].to_numpy())
        np.testing.assert_array_equal(back.params["row_ids"], np.arange(50))
        assert back.params["exact"] == direct[m].params["exact"]
    chunks = list(reader.iter_batches("shap", batch_size=20))
    assert sum(len(c) for c in chunks) == 50 and all(len(c) <= 20 for c in chunks)
    frame = reader.to_pandas(columns=["row_id", "method", "prediction", "exact"])
    assert len(frame) == 100 and set(frame.method) == {"shap", "lime"}
    proba = model.predict_proba(X.iloc[:50])[:, 1]
    np.testing.assert_allclose(frame[frame.method == "shap"].sort_values("row_id").prediction, proba, rtol=1e-12)


def test_parquet_input_is_read_in_batches(data, tmp_path):
    X, y = data
    model = LogisticRegression().fit(X, y)
    src = tmp_path / "rows.parquet"
    X.iloc[:70].to_parquet(src)
    out = to_parquet(model, src, tmp_path / "out.parquet", methods=["coefficients"], background=X.iloc[100:200],
                     batch_size=16)
    back = read_explanations(out).to_explanation("coefficients")
    expected = model.coef_[0] * (X.iloc[:70].to_numpy() - X.iloc[100:200].to_numpy().mean(axis=0))
    np.testing.assert_allclose(back.values, expected, atol=1e-12)


def test_per_row_exact_flag_comes_from_its_class_block(data, tmp_path):
    X, _ = data
    y = np.digitize(X.a, [-0.5, 0.5])
    model = LogisticRegression(max_iter=2000).fit(X, y)
    out = to_parquet(model, X.iloc[:30], tmp_path / "m.parquet", methods=["shap"], background=X.iloc[100:140],
                     output="probability", batch_size=7)
    frame = read_explanations(out).to_pandas(columns=["row_id", "target", "exact"])
    assert frame.exact.all() and set(frame.target) == set(np.unique(model.predict(X.iloc[:30])))


def test_failed_run_leaves_no_file_and_bad_files_are_refused(data, tmp_path):
    X, y = data
    model = LogisticRegression().fit(X, y)
    bad = X.iloc[:40].copy()
    bad.iloc[25, 1] = np.nan  # the second batch holds a NaN
    target = tmp_path / "never.parquet"
    with pytest.raises(DataError, match="'b'"):
        to_parquet(model, bad, target, methods=["coefficients"], background=X.iloc[100:200], batch_size=20)
    assert not target.exists() and not (tmp_path / "never.parquet.partial").exists()
    X.iloc[:5].to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(DataError, match="not an explanations file"):
        read_explanations(tmp_path / "plain.parquet")
    with pytest.raises(DataError, match="one target for all rows"):
        to_parquet(model, X.iloc[:5], tmp_path / "t.parquet", target=np.zeros(5, int))


def test_crafted_metadata_is_refused(data, tmp_path):
    import json

    import pyarrow.parquet as pq

    X, y = data
    model = LogisticRegression().fit(X, y)
    good = to_parquet(model, X.iloc[:4], tmp_path / "g.parquet", methods=["coefficients"], background=X.iloc[100:])
    table = pq.read_table(good)
    meta = json.loads(table.schema.metadata[b"explain"])
    for broken in ({**meta, "feature_names": ["a", "b"]},            # 2 names for 4 values per row
                   {**meta, "feature_names": "abcd"},                # not a list
                   {**meta, "methods": ["coefficients"]},           # not a mapping
                   {**meta, "image_shape": ["__import__('os')"]}):  # not integers
        bad = tmp_path / "bad.parquet"
        pq.write_table(table.replace_schema_metadata({b"explain": json.dumps(broken)}), bad)
        with pytest.raises(DataError, match="do not have the written form"):
            read_explanations(bad)
    pq.write_table(table.replace_schema_metadata({b"explain": b"{not json"}), tmp_path / "nj.parquet")
    with pytest.raises(DataError, match="not an explanations file"):
        read_explanations(tmp_path / "nj.parquet")


def test_mixed_types_and_missing_values_stream_like_explain(tmp_path):
    """Strings, categories and NaN (Fair's affairs pipeline): the file equals explain(); the codes come back and
    decode to the original values and dtypes (issue 26: categories were lost)."""
    from explain.datasets._mixed import mixed_zoo

    zoo = mixed_zoo(0, n_train=600)
    rows = zoo.X_test.iloc[:12].copy()
    rows.iloc[3, list(rows.columns).index("age")] = np.nan  # imputed by the pipeline
    model, bg = zoo["random_forest"], zoo.X_train.iloc[:40]
    assert (rows.dtypes == object).any() or any(str(t) == "category" for t in rows.dtypes)
    kw = dict(methods=["shap", "lime"], background=bg, random_state=5, method_params={"lime": {"num_samples": 200}})
    direct = explain(model, rows, **kw)
    reader = read_explanations(to_parquet(model, rows, tmp_path / "mixed.parquet", batch_size=5, **kw))
    assert reader.feature_names == list(rows.columns)
    for m in ("shap", "lime"):
        back = reader.to_explanation(m)
        np.testing.assert_array_equal(back.values, direct[m].values)
        np.testing.assert_array_equal(back.codes, direct[m].codes)  # NaN included, in the same places
        pd.testing.assert_frame_equal(back.codec.decode(back.codes), rows.reset_index(drop=True))
    assert reader.to_explanation("shap").params["exact"] is True


def test_exact_and_sampled_rows_share_a_stderr_column_every_pyarrow_reads(data, tmp_path):
    """Exact rows store a null stderr; a fixed-size list column holding nulls cannot be read back by pyarrow
    before 26 (apache/arrow#35692), so the column is a variable-size list of float64."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = data
    model = LogisticRegression().fit(X, y)
    path = tmp_path / "e.parquet"
    kw = dict(methods=["shap", "lime"], background=X[:20], output="probability", random_state=0)
    to_parquet(model, X[:6], path, batch_size=4, **kw)
    assert pq.read_schema(path).field("stderr").type == pa.list_(pa.float64())
    direct, back = explain(model, X[:6], **kw), read_explanations(path)
    assert back.to_explanation("shap").stderr is None and direct["shap"].stderr is None
    np.testing.assert_array_equal(back.to_explanation("lime").stderr, direct["lime"].stderr)

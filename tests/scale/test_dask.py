"""explain() and to_parquet on a real distributed LocalCluster (2 worker processes)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from explain import explain, read_explanations, to_parquet

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(240, 4)) * [1.0, 2.0, 0.3, 5.0] + 0.1, columns=list("abcd"))
    y = (X.a + X.b / 2 - X.d / 5 > 0).astype(int).to_numpy()
    model = RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0).fit(X, y)
    return model, X


@pytest.mark.slow
def test_dask_backend_equals_one_process(client, model_and_data):
    model, X = model_and_data
    kw = dict(methods=["shap", "lime", "shap.kernel"], background=X.iloc[200:230], random_state=9,
              method_params={"lime": {"num_samples": 150}, "shap.kernel": {"nsamples": 60}})
    local = explain(model, X.iloc[:14], **kw)
    remote = explain(model, X.iloc[:14], backend="dask", batch_size=3, **kw)
    for m in local.methods:
        np.testing.assert_array_equal(local[m].values, remote[m].values, err_msg=m)
        np.testing.assert_array_equal(local[m].base_values, remote[m].base_values, err_msg=m)
    assert remote["shap"].params["exact"] is True


@pytest.mark.slow
def test_dask_dataframe_to_parquet_one_part_per_partition(client, model_and_data, tmp_path):
    model, X = model_and_data
    ddf = dd.from_pandas(X.iloc[:60], npartitions=4)
    kw = dict(methods=["shap", "lime"], background=X.iloc[200:230], random_state=2,
              method_params={"lime": {"num_samples": 150}})
    out = to_parquet(model, ddf, tmp_path / "parts", **kw)
    parts = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert parts == [f"part-{k:05d}.parquet" for k in range(4)]
    reader = read_explanations(out)
    direct = explain(model, X.iloc[:60], **kw)
    for m in ("shap", "lime"):
        back = reader.to_explanation(m)
        np.testing.assert_array_equal(back.params["row_ids"], np.arange(60))
        np.testing.assert_array_equal(back.values, direct[m].values, err_msg=m)

"""Model files are hostile until proven otherwise: exact allow-lists, never prefixes (issue 9, item 1)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from explain.io.models import ModelFileError, load_model, skops_allowed_types

from helpers import run_cli


def _evil_skops(path, marker):
    """A .skops file whose schema calls builtins.exec on a string through a ConstructorFromReduceNode."""
    payload = f"open({str(marker)!r}, 'w').write('ran')"
    schema = {
        "__class__": "exec", "__module__": "builtins", "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                    "content": [{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                                 "content": json.dumps(payload), "is_json": True}]},
        "protocol": 2, "_skops_version": "0.16.0",
    }
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
    return path


def test_crafted_exec_file_is_refused_and_never_runs(tmp_path):
    import skops.io as sio

    marker = tmp_path / "pwned"
    evil = _evil_skops(tmp_path / "evil.skops", marker)
    assert "builtins.exec" in sio.get_untrusted_types(file=str(evil))  # the file really asks for exec
    with pytest.raises(ModelFileError, match=r"builtins\.exec.*--trust-pickle"):
        load_model(str(evil))
    assert not marker.exists()

    data = tmp_path / "d.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).to_csv(data, index=False)
    proc = run_cli("report", "--model", f"m={evil}", "--data", str(data), "--out", str(tmp_path / "r.json"), "--quiet")
    assert proc.returncode == 2 and "builtins.exec" in proc.stderr, proc.stderr
    assert not marker.exists() and not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("name", ["builtins.exec", "builtins.eval", "builtins.getattr", "builtins.__import__",
                                  "os.system", "subprocess.Popen", "posix.system", "sklearn.utils.evil",
                                  "numpy.testing.exec", "builtins.", "sklearn.tree._tree.Tree.x"])
def test_allow_list_is_exact_names(name):
    assert name not in skops_allowed_types()


def test_every_zoo_model_saved_with_skops_loads(tmp_path, tabular_zoo, image_zoo):
    import skops.io as sio

    loaded = 0
    for zoo in (tabular_zoo, image_zoo):
        for name, model in zoo.items():
            if name in ("glm", "cnn") and not hasattr(model, "get_params"):
                continue  # statsmodels results and torch modules are not skops files
            path = tmp_path / f"{name}_{loaded}.skops"
            sio.dump(model, path)
            back = load_model(str(path))
            X = zoo.X_test.iloc[:5]
            np.testing.assert_array_equal(back.predict(X), model.predict(X))
            loaded += 1
    assert loaded >= 7


def test_supported_estimators_load(tmp_path):
    import lightgbm
    import skops.io as sio
    import xgboost
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import TweedieRegressor
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    models = [xgboost.XGBClassifier(n_estimators=3), lightgbm.LGBMClassifier(n_estimators=3, verbose=-1),
              HistGradientBoostingClassifier(max_iter=3), CalibratedClassifierCV(SVC()),
              TweedieRegressor(power=1.5)]
    for i, model in enumerate(models):
        model.fit(X, y if i < 4 else np.abs(X[:, 0]) + 0.1)
        sio.dump(model, tmp_path / f"m{i}.skops")
        back = load_model(str(tmp_path / f"m{i}.skops"))
        np.testing.assert_allclose(back.predict(X), model.predict(X))


def test_torchscript_needs_trust(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.pt"
    torch.jit.script(torch.nn.Linear(3, 1)).save(str(path))
    with pytest.raises(ModelFileError, match="TorchScript.*runs the code.*--trust-pickle"):
        load_model(str(path))
    assert isinstance(load_model(str(path), trust_pickle=True), torch.jit.ScriptModule)

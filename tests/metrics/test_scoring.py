"""The scoring context: shared work is computed once and timed on its own row, re-explanations count as the
metric's model rows, and every registered metric is called through one protocol."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from explain.comparison import _Clock, _row
from explain.metrics.base import MetricContext
from explain.metrics.scoring import ScoringContext


def _context(**kw):
    ctx = MetricContext(adapter=None, output="raw", background=np.zeros((2, 2)))
    base = dict(model_name="m", model=None, result=SimpleNamespace(methods=["a", "random"]), ctx=ctx, k=2, X=None,
                y=None, random_state=0, n_seeds=2, robustness_rows=1,
                rerun_factory=lambda e: (lambda Z, **kw: SimpleNamespace(n_model_evals=10 * len(Z), kw=kw)),
                clock=_Clock(ctx))
    return ScoringContext(**{**base, **kw})


def test_shared_work_is_computed_once_and_timed_on_its_own_row():
    sc = _context()
    calls = []

    def shared_work():
        calls.append(1)
        sc.ctx.n_evals += 7
        return "value"

    def metric():
        sc.ctx.n_evals += 5
        return sc.shared("key", "a", "shared step", shared_work)

    assert sc.clock.measure("m", "a", "first", metric) == "value"
    assert sc.clock.measure("m", "a", "second", metric) == "value"
    assert calls == [1]
    evals = {row[2]: row[4] for row in sc.clock.rows}
    assert evals == {"shared step": 7, "first": 5, "second": 5}  # the shared rows are not counted twice
    assert all(row[3] >= 0 for row in sc.clock.rows)


def test_reruns_count_as_the_metrics_model_rows():
    sc = _context()
    e = SimpleNamespace(method="a")
    again = sc.clock.measure("m", "a", "metric", lambda: sc.rerun(e, np.zeros((3, 2)), random_state=4))
    assert again.kw == {"random_state": 4}
    assert sc.clock.rows[-1][4] == 30 and sc.ctx.n_evals == 30


def test_control_value_and_rows():
    sc = _context(values={("random", "deletion"): 0.5, ("a", "deletion"): 0.25})
    assert sc.controls == ["random"] and sc.control_value("deletion") == 0.5
    assert np.isnan(sc.control_value("insertion"))
    one = _row("m", "a", "x", 2.0)  # one number: no spread
    assert one[3] == 2.0 and np.isnan(one[4])
    value, spread = _row("m", "a", "x", [1.0, 3.0, np.nan])[3:]
    assert value == 2.0 and spread == 1.0

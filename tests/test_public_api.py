"""The exported names are pinned: the public API changes only on purpose."""

import explain


def test_exported_names():
    assert sorted(explain.__all__) == sorted([
        "explain", "compare", "Comparison", "Explanation", "ExplanationSet", "Adapter", "CallableAdapter", "method_names", "datasets",
        "Report", "build_report", "load_report_json", "AttributionDisplay",
        "ExplainError", "ParameterError", "NotFittedError", "UnsupportedModelError", "DataError", "BackgroundError",
        "TargetError", "OutputError", "UnknownMethodError", "MethodNotApplicableError", "AdditivityError",
        "ApproximationWarning", "UnknownMetricError", "BeeswarmDisplay", "WaterfallDisplay", "ImageDisplay",
        "load_report", "diff", "ReportDiff", "to_parquet", "read_explanations", "ExplanationReader",
        "interactions", "Interactions", "partial_dependence", "PartialDependence", "accumulated_local_effects",
        "AccumulatedLocalEffects", "importance", "Importance",
    ])
    for name in explain.__all__:
        assert hasattr(explain, name), name


def test_method_registry_names():
    assert explain.method_names() == [
        "coefficients", "naive_bayes", "shap", "shap.tree", "shap.tree_shap_lib", "shap.kernel", "shap.permutation", "shap.exact",
        "shap.partition", "shap.kernel_exact", "lime", "integrated_gradients", "saliency", "input_x_gradient", "deeplift",
        "deeplift_shap", "gradient_shap", "occlusion", "feature_ablation", "random"]


def test_import_does_not_pull_optional_libraries():
    import subprocess
    import sys

    code = ("import sys, explain; from explain.adapters import get_adapter; "
            "print(','.join(m for m in ('torch', 'xgboost', 'lightgbm', 'shap', 'lime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""

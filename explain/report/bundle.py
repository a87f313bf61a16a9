"""The report bundle: a versioned JSON schema, validation, and reading a report back from .json or .html.

The JSON renderer writes ``schema_version`` "1" documents that follow
``explain/report/schema/report-1.json`` (JSON Schema draft 2020-12). The HTML
report embeds the same document in ``<script type="application/json"
id="explain-data">`` (inert: the page's Content-Security-Policy runs no script),
so one file is both the readable review and the machine-readable record.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..errors import DataError
from ..explanation import Explanation, ExplanationSet

__all__ = ["SCHEMA_VERSION", "schema", "validate_bundle", "read_bundle", "load_report", "embed"]

SCHEMA_VERSION = "1"
_SCRIPT = re.compile(r'<script type="application/json" id="explain-data">(.*?)</script>', re.S)


@lru_cache(maxsize=1)
def schema() -> dict:
    """The report schema (draft 2020-12), as shipped with the package."""
    text = resources.files("explain.report").joinpath("schema", f"report-{SCHEMA_VERSION}.json").read_text("utf-8")
    return json.loads(text)


def validate_bundle(record: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if ``record`` is not a valid version-1 bundle."""
    import jsonschema

    jsonschema.Draft202012Validator(schema()).validate(record)


def embed(json_text: str) -> str:
    """The JSON document made safe inside a <script> element: every '<' (which only occurs inside JSON
    strings) becomes the JSON escape \\u003c, so no '</script' or '<!--' can end or bend the element."""
    return json_text.replace("<", "\\u003c")


def read_bundle(path) -> dict:
    """The JSON document of a report: the .json file, or the one embedded in the .html file."""
    path = str(path)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.lower().endswith((".html", ".htm")):
        match = _SCRIPT.search(text)
        if match is None:
            raise DataError(f"{path} holds no embedded explain data (<script id='explain-data'>); it was not "
                            "written by explain, or by a version before the bundle.")
        text = match.group(1)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not a JSON report: {exc}") from exc
    if record.get("schema_version") not in (None, SCHEMA_VERSION):
        raise DataError(f"{path} has schema_version {record.get('schema_version')!r}; this explain reads "
                        f"{SCHEMA_VERSION!r}.")
    return record


def load_report(path) -> dict:
    """Read a report (.json or .html) back: explanations as ExplanationSets, scores as a DataFrame.

    Returns
    -------
    dict with keys "title", "provenance", "explanations" ({model: ExplanationSet}), "scores" and "notes".
    """
    return bundle_to_objects(read_bundle(path))


def bundle_to_objects(record: dict) -> dict:
    """A bundle's explanations as Explanation objects (flat values, codes as data), scores as a DataFrame."""
    sets = {}
    for name, items in record["explanations"].items():
        es = [Explanation(np.array(r["values"], dtype=float), np.asarray(r["base_values"], float),
                          np.array(r["data"], dtype=float), r["feature_names"], output=r["output"],
                          method=r["method"], model_name=r["model"], target=r["target"],
                          n_model_evals=r["n_model_evals"], params=r["params"], image_shape=r.get("image_shape"))
              for r in items]
        sets[name] = ExplanationSet(es, model_name=name)
    scores = None if record.get("scores") is None else pd.DataFrame(record["scores"])
    return {"title": record["title"], "provenance": record["provenance"], "explanations": sets, "scores": scores,
            "notes": record.get("notes", {}), "record": record}

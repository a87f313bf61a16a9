"""The report bundle: a versioned JSON schema, validation, and reading a report back from .json or .html.

The JSON renderer writes ``schema_version`` "2" documents that follow
``explain/report/schema/report-2.json`` (JSON Schema draft 2020-12); version 1
bundles (``target`` held class indices and ``data`` codes without their
dtypes) are still read. The HTML report embeds the same document in
``<script type="application/json" id="explain-data">`` (inert: the page's
Content-Security-Policy runs no script), so one file is both the readable
review and the machine-readable record.

A bundle handed to us may have been edited by hand: it is validated against
the schema it claims before use, and anything that does not fit raises
:class:`~explain.errors.BundleError` with one line naming the field.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .._utils.portable import codec_from_json, label_array
from ..errors import BundleError
from ..explanation import Explanation, ExplanationSet

__all__ = ["SCHEMA_VERSION", "SCHEMA_VERSIONS", "schema", "validate_bundle", "read_bundle", "load_report", "embed"]

SCHEMA_VERSION = "2"
SCHEMA_VERSIONS = ("1", "2")  # every version this explain reads
_SCRIPT = re.compile(r'<script type="application/json" id="explain-data">(.*?)</script>', re.S)


@lru_cache(maxsize=None)
def schema(version: str = SCHEMA_VERSION) -> dict:
    """The report schema of ``version`` (draft 2020-12), as shipped with the package."""
    text = resources.files("explain.report").joinpath("schema", f"report-{version}.json").read_text("utf-8")
    return json.loads(text)


def validate_bundle(record) -> None:
    """Raise ``jsonschema.ValidationError`` if ``record`` does not follow the schema of the version it claims
    (the current one if it claims none)."""
    import jsonschema

    version = record.get("schema_version") if isinstance(record, dict) else None
    version = version if version in SCHEMA_VERSIONS else SCHEMA_VERSION
    jsonschema.Draft202012Validator(schema(version)).validate(record)


def embed(json_text: str) -> str:
    """The JSON document made safe inside a <script> element: every '<' (which only occurs inside JSON
    strings) becomes the JSON escape \\u003c, so no '</script' or '<!--' can end or bend the element."""
    return json_text.replace("<", "\\u003c")


def _field(path) -> str:
    """A JSON path as readable text: explanations['glm'][0].target."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if part.isidentifier() else f"[{part!r}]")
    return out.lstrip(".") or "the document"


def _short(value, limit: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _schema_error(path: str, record) -> BundleError | None:
    """The first schema violation of ``record`` as one line naming the field, or None if it is valid."""
    import jsonschema

    version = record.get("schema_version") if isinstance(record, dict) else None
    validator = jsonschema.Draft202012Validator(schema(version if version in SCHEMA_VERSIONS else SCHEMA_VERSION))
    error = jsonschema.exceptions.best_match(validator.iter_errors(record))
    if error is None:
        return None
    where = _field(error.absolute_path)
    if error.validator == "required":
        missing = [k for k in error.validator_value if not isinstance(error.instance, dict) or k not in error.instance]
        what = f"lacks the field {missing[0]!r}" if missing else "lacks a required field"
        return BundleError(f"{path}: {where} {what}; the file is not a complete explain report (re-create it "
                           "with explain, do not edit it by hand).")
    if error.validator == "type":
        what = f"should be {' or '.join(np.atleast_1d(error.validator_value))}"
    elif error.validator == "const":
        what = f"should be {_short(error.validator_value)}"
    elif error.validator == "enum":
        what = f"should be one of {_short(error.validator_value)}"
    else:
        what = f"does not have the written form ({error.validator})"
    return BundleError(f"{path}: field {where} {what}, got {_short(error.instance)}; the file was edited or "
                       "damaged (re-create it with explain).")


def read_bundle(path) -> dict:
    """The JSON document of a report (the .json file, or the one embedded in the .html file), validated.

    Raises
    ------
    BundleError
        The file holds no report, or one that does not follow its schema (one line naming the field).
    """
    path = str(path)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.lower().endswith((".html", ".htm")):
        match = _SCRIPT.search(text)
        if match is None:
            raise BundleError(f"{path} holds no embedded explain data (<script id='explain-data'>); it was not "
                              "written by explain, or by a version before the bundle.")
        text = match.group(1)
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(f"{path} is not a JSON report: {str(exc).splitlines()[0]}") from exc
    if not isinstance(record, dict):
        raise BundleError(f"{path}: the document is a JSON {type(record).__name__}, not an object; it is not an "
                          "explain report.")
    version = record.get("schema_version")
    if version is not None and version not in SCHEMA_VERSIONS:
        raise BundleError(f"{path} has schema_version {_short(version)}; this explain reads "
                          f"{', '.join(SCHEMA_VERSIONS)}.")
    error = _schema_error(path, record)
    if error is not None:
        raise error
    return record


def load_report(path) -> dict:
    """Read a report (.json or .html) back: explanations as ExplanationSets, scores as a DataFrame.

    Returns
    -------
    dict with keys "title", "provenance", "explanations" ({model: ExplanationSet}), "scores" and "notes".

    Raises
    ------
    BundleError
        The file is not a report, or was edited so that it no longer follows its schema.
    """
    return bundle_to_objects(read_bundle(path), where=str(path))


def _targets(r: dict, version: str):
    """(labels, indices) of an explanation record: version 1 stored only the indices (as "target")."""
    if r["target"] is None:
        return None, None
    if version == "1":
        return r["target"], r["target"]
    if r["target_index"] is None or len(r["target_index"]) != len(r["target"]):
        raise ValueError("target and target_index must have one entry per row each")
    return label_array(r["target"]), r["target_index"]


def _codec(r: dict, where: str):
    """The codec of an explanation record; a version-1 record had only its categories, as text."""
    if r.get("codec") is not None:
        return codec_from_json(r["codec"], where=where)
    if not r.get("categories"):
        return None
    cats = r["categories"]
    spec = [{"name": f, "kind": "categorical" if f in cats else "numeric", "categories": cats.get(f, []),
             "dtype": "object" if f in cats else "float64", "ordered": False} for f in r["feature_names"]]
    return codec_from_json(spec, where=where)


def _explanation(r: dict, version: str, where: str) -> Explanation:
    target, index = _targets(r, version)
    codec = _codec(r, where)
    if codec is not None and codec.names != list(r["feature_names"]):
        raise ValueError("its column description (codec) does not match its feature names")
    e = Explanation(np.array(r["values"], dtype=float), np.array(r["base_values"], dtype=float),
                    np.array(r["data"], dtype=float), r["feature_names"], output=r["output"],
                    method=r["method"], model_name=r["model"], target=target, target_index=index,
                    n_model_evals=r["n_model_evals"], params=r["params"], image_shape=r.get("image_shape"),
                    codec=codec, stderr=None if r.get("stderr") is None else
                    np.array(r["stderr"], dtype=float))
    if codec is not None and codec.has_categorical:
        codec.decode(e.codes)  # a category code out of range is refused here, not when the data is shown
    return e


def bundle_to_objects(record: dict, *, where: str = "the report") -> dict:
    """A bundle's explanations as Explanation objects (labels as targets, data decoded through the codec),
    scores as a DataFrame. ``where`` names the file in errors."""
    version = record.get("schema_version") or SCHEMA_VERSION
    sets = {}
    for name, items in record["explanations"].items():
        es = []
        for i, r in enumerate(items):
            try:
                es.append(_explanation(r, version, where))
            except (ValueError, TypeError, OverflowError) as exc:
                field = _field(["explanations", name, i])
                raise BundleError(f"{where}: {field} is inconsistent: {str(exc).splitlines()[0]}; the file was "
                                  "edited or damaged (re-create it with explain).") from exc
        try:
            sets[name] = ExplanationSet(es, model_name=name)
        except ValueError as exc:
            raise BundleError(f"{where}: {_field(['explanations', name])}: {exc}") from exc
    scores = None if record.get("scores") is None else pd.DataFrame(record["scores"])
    return {"title": record["title"], "provenance": record["provenance"], "explanations": sets, "scores": scores,
            "notes": record.get("notes", {}), "record": record}

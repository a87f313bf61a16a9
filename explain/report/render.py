"""Renderers of a report tree: HTML (Jinja2, one template per block, autoescape on), Markdown, JSON.

HTML is one self-contained file: CSS inline, figures as inline SVG, no external
URL (a Content-Security-Policy forbids fetching anything). Its one script is the
small layer in ``templates/report.js`` (row search, sortable tables, expand and
collapse, jump menu), inline and pinned in the CSP by the SHA-256 of its exact
text, so no other script can run; the page reads the same without it. Every
output is written atomically: a temporary file beside the target, then a
rename, so an error or Ctrl-C never leaves half a report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from importlib import resources

from ..explanation import Explanation
from .._utils.atomic import atomic_write_text
from .bundle import SCHEMA_VERSION, embed, load_report, validate_bundle
from .summary import _plain, explanation_record

__all__ = ["report_script", "render_html", "render_markdown", "render_json", "save", "load_report_json"]


def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("explain", "report/templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def report_script() -> tuple[str, str]:
    """The page's script and its CSP source (``'sha256-<base64>'`` of the exact text between the tags)."""
    text = resources.files("explain.report").joinpath("templates/report.js").read_text(encoding="utf-8")
    if "</script" in text.lower() or "<!--" in text:  # would end or bend the element
        raise ValueError("report.js must not contain '</script' or '<!--'")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"sha256-{digest}"


def render_html(report) -> str:
    """The page, with the JSON bundle embedded (inert) for explain.load_report and later diffs."""
    script, script_hash = report_script()
    return _env().get_template("base.html.j2").render(report=report, bundle=embed(render_json(report)),
                                                      script=script, script_hash=script_hash)


def _md_cell(v) -> str:
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _md_table(table: dict) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(c) for c in table["columns"]) + " |",
             "|" + "|".join(["---"] * len(table["columns"])) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table["rows"]]
    return lines + [""]


def _md_rows(data: dict) -> list[str]:
    """The table of predictions, then each row's contributions (every number) under its own line."""
    lines = [f"*{_md_cell(data['note'])}*", ""]
    lines += _md_table({"columns": ["row", f"f(x) ({data['unit']})", "E[f(X)]", "explained class"],
                        "rows": [[p["id"], p["fx"], p["base"], p["label"]] for p in data["predictions"]]})
    for v in data["views"]:
        lines += [f"**{_md_cell(data['model'])} · row {_md_cell(v['id'])}**: f(x) = {v['fx']} · "
                  f"E[f(X)] = {v['base']} · explained class: {_md_cell(v['label'])}", ""]
        lines += _md_table({"columns": ["feature = value"] + data["methods"],
                            "rows": [[line["feature"]] + [c["text"] for c in line["cells"]] for line in v["lines"]]
                            + [["sum of contributions"] + v["sums"], ["E[f(X)] + sum"] + v["outputs"]]})
    return lines


def render_markdown(report, figure_dir=None) -> str:
    """Markdown for a review or pull request; figures are written as SVG files into ``figure_dir``."""
    out = [f"# {_md_cell(report.title)}", ""]
    counter = [0]

    def figure(title, svg):
        counter[0] += 1
        if figure_dir is None:
            return [f"*{_md_cell(title)}* (figure omitted)", ""]
        name = f"figure_{counter[0]:02d}.svg"
        atomic_write_text(os.path.join(figure_dir, name), svg)
        return [f"![{_md_cell(title)}]({os.path.basename(os.fspath(figure_dir))}/{name})", ""]

    def walk(section, level):
        lines = [f"{'#' * level} {_md_cell(section.title)}", ""]
        if section.kind == "provenance":
            for key, value in section.data["fields"].items():
                if isinstance(value, dict):
                    lines += [f"- **{_md_cell(key)} · {_md_cell(k)}**: {_md_cell(v)}" for k, v in value.items()]
                else:
                    lines.append(f"- **{_md_cell(key)}**: {_md_cell(value)}")
            lines.append("")
        elif section.kind == "scorecard":
            lines += _md_table(section.data["table"])
            lines += [f"- **{_md_cell(m['metric'])}** ({m['direction']} is better): {_md_cell(m['meaning'])}"
                      for m in section.data["meanings"]] + [""]
        elif section.kind == "model":
            lines += [" · ".join(f"{k}: **{_md_cell(v)}**" for k, v in section.data["facts"].items()), ""]
            lines += [f"- ⚠ {_md_cell(note)}" for note in section.data.get("notes", [])]
            lines += [""] if section.data.get("notes") else []
        elif section.kind == "table":
            if section.data.get("note"):
                lines += [f"*{_md_cell(section.data['note'])}*", ""]
            lines += _md_table(section.data["table"])
        elif section.kind == "text":
            lines += [f"{_md_cell(p)}" for p in section.data.get("paragraphs", [])] + [""]
            lines += [f"- {_md_cell(item)}" for item in section.data.get("bullets", [])]
            lines += [""] if section.data.get("bullets") else []
            if section.data.get("aside"):  # a figure shown beside the text on the page: after it here
                lines += figure(section.data["aside"]["title"], section.data["aside"]["svg"])
        elif section.kind == "rows":
            lines += _md_rows(section.data)
        elif section.kind == "figure":
            lines = [f"{'#' * level} {_md_cell(section.title)}", ""] + figure(section.title, section.data["svg"])
        for child in section.children:
            lines += walk(child, level + 1)
        return lines

    for section in report.sections:
        out += walk(section, 2)
    return "\n".join(out).rstrip() + "\n"


def render_json(report) -> str:
    """Every value, score and provenance field."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "title": report.title,
        "provenance": _plain(report.provenance),
        "explanations": {name: [_stable_record(e) for e in r] for name, r in report.explanations.items()},
        "scores": None if report.scores is None else json.loads(
            report.scores.to_json(orient="records", double_precision=15)),
        "notes": _plain(report.notes),
    }
    if report.extra:
        record.update(_plain(report.extra))
    text = json.dumps(record, indent=1, allow_nan=False, default=_plain) + "\n"
    validate_bundle(json.loads(text))  # every bundle written follows the schema it claims
    return text


def _stable_record(e: Explanation) -> dict:
    rec = explanation_record(e)
    rec.pop("seconds")  # wall time varies run to run
    rec["image_shape"] = None if e.image_shape is None else list(e.image_shape)
    rec["params"] = {k: v for k, v in rec["params"].items() if k != "seconds"}
    return rec


def load_report_json(path) -> dict:
    """Read a JSON (or HTML) report back; see :func:`explain.load_report`."""
    return load_report(path)


def save(report, path) -> str:
    """Render by suffix (.html, .md, .json) and write atomically; Markdown figures go to ``<stem>_files/``."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".html", ".htm"):
        text = render_html(report)
    elif suffix in (".md", ".markdown"):
        text = render_markdown(report, os.path.splitext(path)[0] + "_files")
    elif suffix == ".json":
        text = render_json(report)
    else:
        raise ValueError(f"unknown report format {suffix!r}: use .html, .md or .json")
    atomic_write_text(path, text)
    return path

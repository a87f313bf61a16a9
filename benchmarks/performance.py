"""The README's Performance table, generated: runs the benchmarks, reads their output, writes the rows.

Each row names the benchmark command that produced it; the table is headed by the machine (CPU, cores, load
average before and after), the date and the commit. Every ratio is taken within one benchmark run, peer and
explain on the same input (see each benchmark's docstring).

    .venv/bin/python benchmarks/performance.py                 # all benchmarks (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/performance.py --only trees,compare
    .venv/bin/python benchmarks/performance.py --write-readme  # replace the table between the README's markers

woodelf-explainer is optional (``pip install woodelf-explainer``): without it the tree rows compare with the
two bare leaf-pattern loops only.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- performance:start -->", "<!-- performance:end -->"


def run(script: str, *args: str) -> tuple[str, str]:
    """(the command as printed, its stdout); a failing benchmark stops the table."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), *args]
    shown = " ".join(["benchmarks/" + script, *args])
    print(f"running {shown}", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if res.returncode != 0:
        raise SystemExit(f"{shown} failed:\n{res.stderr[-3000:]}")
    return shown, res.stdout


def _fmt(seconds: float) -> str:
    return f"{seconds:.3g} s" if seconds >= 0.01 else f"{seconds * 1e3:.3g} ms"


def tree_rows() -> list[list[str]]:
    """bench_trees: 1,000 rows x 20 features, background 100 / 1,000, against woodelf and the two floors."""
    import importlib.util

    extra = [] if importlib.util.find_spec("woodelf") else ["--no-woodelf"]
    cmd, out = run("bench_trees.py", "--models", "rf8,xgb,lgbm,hgb", "--no-shap", "--no-memory", *extra)
    by_model: dict[str, dict[int, list[float]]] = {}
    for line in out.splitlines():
        tokens = line.split()
        if len(tokens) < 15 or not tokens[-13].isdigit():
            continue
        name = " ".join(tokens[:-13])
        by_model.setdefault(name, {})[int(tokens[-13])] = [float(t) for t in tokens[-12:]]
    rows = []
    for name, runs in by_model.items():
        (b0, r0), (b1, r1) = sorted(runs.items())[:2]
        ours = f"{_fmt(r0[0])} / {_fmt(r1[0])}"
        if extra:
            peer, ratio = "woodelf-explainer not installed", "-"
        else:
            peer = f"woodelf-explainer {_fmt(r0[2])} / {_fmt(r1[2])}"
            ratio = f"{r0[4]:.1f}x / {r1[4]:.1f}x"
        rows.append([f"TreeSHAP, {name}, 1,000 rows x 20 features, background {b0} / {b1}", ours, peer, ratio, cmd])
        rows.append(["the same against bare leaf-pattern loops (row by row; column by column)", ours,
                     f"{_fmt(r0[5])} / {_fmt(r1[5])}; {_fmt(r0[7])} / {_fmt(r1[7])}",
                     f"ours {r0[6]:.2f}x / {r1[6]:.2f}x; {r0[8]:.1f}x / {r1[8]:.1f}x the floor", cmd])
    cmd, out = run("bench_trees.py", "--models", "rf", "--rows", "40", "--backgrounds", "100", "--no-woodelf",
                   "--no-memory")
    for line in out.splitlines():
        tokens = line.split()
        if len(tokens) >= 15 and tokens[-13] == "100":
            r = [float(t) for t in tokens[-12:]]
            rows.append(["TreeSHAP, 100-tree default-depth forest, 40 rows, background 100", _fmt(r[0]),
                         f"shap interventional {_fmt(r[1])}", f"{r[3]:.1f}x", cmd])
    return rows


def first_call_rows() -> list[list[str]]:
    cmd, out = run("bench_first_call.py")
    rows = []
    compile_s = {}
    for line in out.splitlines():
        m = re.match(r"(.+?), (empty numba cache|cache filled) #1\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            compile_s.setdefault(m.group(1), {})[m.group(2)] = float(m.group(4))
    for model, t in compile_s.items():
        rows.append([f"first call, {model}: empty numba cache / cached", f"{t['empty numba cache']:.2f} s / "
                     f"{t['cache filled']:.2f} s", "goal: at most 5 s of compilation", "-", cmd])
    return rows


def kernel_rows() -> list[list[str]]:
    cmd, out = run("bench_kernel_shapley.py", "--repeats", "3")
    rows = []
    pattern = (r"^(?P<name>[^\n:]+): (?P<d>\d+) features, (?P<sv>\d+) support vectors, background (?P<bg>\d+)\n"
               r"\s+exact \(ours\)\s+(?P<ours>[\d.]+) ms/row.*\n\s+KernelExplainer\s+(?P<theirs>[\d.]+) ms/row.*\n"
               r"\s+speed-up (?P<speed>\d+)x")
    for m in re.finditer(pattern, out, re.M):
        rows.append([f"exact kernel Shapley, {m['name']} ({m['d']} features, {m['sv']} support vectors), "
                     f"background {m['bg']}, per row (median of 3)", f"{float(m['ours']):.1f} ms",
                     f"KernelExplainer {float(m['theirs']):,.0f} ms", f"{m['speed']}x", cmd])
    return rows


def image_rows() -> list[list[str]]:
    cmd, out = run("bench_images.py")
    rows = []
    ig = re.search(r"integrated gradients, (\d+) images.*\n\s+raw captum ([\d.]+) s.*explain ([\d.]+) s, ratio ([\d.]+)",
                   out)
    if ig:
        rows.append([f"integrated gradients, zoo CNN, {ig.group(1)} digits, the same internal batch",
                     f"{ig.group(3)} s", f"raw captum {ig.group(2)} s", f"{ig.group(4)}x of captum's time", cmd])
    head = re.search(r'"shap" for the CNN, (\d+) images, background (\d+)', out)
    deep = re.search(r"shap\.DeepExplainer\s+([\d.]+) ms/image", out)
    ours = re.search(r"explain 'deeplift_shap'\s+([\d.]+) ms/image\s+speed-up vs DeepExplainer\s+([\d.]+)x", out)
    if head and deep and ours:
        rows.append([f"DeepLift SHAP, zoo CNN, {head.group(1)} digits, background {head.group(2)}, the predicted "
                     "class only", f"{ours.group(1)} ms/image", f"shap.DeepExplainer {deep.group(1)} ms/image",
                     f"{float(ours.group(2)):.1f}x", cmd])
    return rows


def scale_rows() -> list[list[str]]:
    cmd, out = run("bench_scale.py", "--cases", "glm,forest,sampling", "--forest-rows", "20000")
    values: dict[str, dict[str, str]] = {}
    case = None
    for line in out.splitlines():
        if line.startswith("== "):
            case = line[3:].strip()
            values[case] = {}
        elif case and line.strip():
            key, _, value = line.strip().partition(" ")
            values[case][key] = value.strip()
    rows = []
    g = values.get("glm", {})
    if g:
        one, two = float(g["n_jobs=1_s"]), float(g["n_jobs=2_s"])
        rows.append(["`n_jobs=2` vs `n_jobs=1`, 1,000,000-row GLM, coefficients (too little work to split)",
                     _fmt(two), _fmt(one), f"{one / two:.2f}x", cmd])
    f = values.get("forest", {})
    if f:
        one, two = float(f["n_jobs=1_s"]), float(f["n_jobs=2_s"])
        rows.append([f"`n_jobs=2` vs `n_jobs=1`, exact TreeSHAP, 200-tree depth-8 forest, {f['rows']} rows "
                     f"(bit-identical: {f['bit_identical']})", _fmt(two), _fmt(one), f"{one / two:.2f}x", cmd])
    s = values.get("sampling", {})
    for method in ("lime", "shap.kernel"):
        if f"{method}_n_jobs=1_s" in s:
            one, two = float(s[f"{method}_n_jobs=1_s"]), float(s[f"{method}_n_jobs=2_s"])
            rows.append([f"`n_jobs=2` (warm workers) vs `n_jobs=1`, {method}, scikit-learn MLP pipeline, "
                         f"{s['rows']} rows", _fmt(two), _fmt(one), f"{one / two:.2f}x", cmd])
    return rows


def compare_rows() -> list[list[str]]:
    cmd, out = run("bench_compare.py", "--rows", "20", "--metrics", "max_sensitivity,seed_cv,model_randomisation")
    rows = []
    for line in out.splitlines():
        tokens = line.split()
        if tokens and tokens[0] in ("max_sensitivity", "seed_stability", "sanity") and len(tokens) == 9:
            seconds, replay, ratio = float(tokens[1]), float(tokens[5]), float(tokens[8])
            rows.append([f"compare() re-explaining metric {tokens[0]}, tabular zoo, 20 rows", _fmt(seconds),
                         f"the rows it sent, replayed as raw batched predicts {_fmt(replay)}", f"{ratio:.2f}x", cmd])
    return rows


SECTIONS = {"trees": tree_rows, "first_call": first_call_rows, "kernel": kernel_rows, "images": image_rows,
            "scale": scale_rows, "compare": compare_rows}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def commit() -> str:
    res = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return res.stdout.strip() or "unknown"


def table(sections: list[str]) -> str:
    load_before = os.getloadavg()[0]
    rows = []
    for name in sections:
        found = SECTIONS[name]()
        if not found:  # a benchmark whose output changed must not drop its rows silently
            raise SystemExit(f"{name}: no rows read from its benchmark's output; update its parser in {__file__}")
        rows += found
    load_after = os.getloadavg()[0]
    lines = [f"Generated by `benchmarks/performance.py` on {datetime.date.today():%d %B %Y} at commit {commit()}: "
             f"{machine()}; load average {load_before:.2f} before, {load_after:.2f} after. Ratios are peer time / "
             "ours unless the column says otherwise, both measured in the same run.", "",
             "| benchmark | ours | peer | ratio | command |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row[:4]) + f" | `{row[4]}` |" for row in rows]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated of {', '.join(SECTIONS)}")
    parser.add_argument("--write-readme", action="store_true",
                        help=f"replace the table between {START} and {END} in README.md")
    args = parser.parse_args()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; sections are {', '.join(SECTIONS)}")
    text = table(wanted)
    print(text)
    if args.write_readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        if START not in content or END not in content:
            raise SystemExit(f"README.md has no {START} ... {END} markers")
        head, rest = content.split(START, 1)
        _, tail = rest.split(END, 1)
        readme.write_text(head + START + "\n" + text + END + tail)


if __name__ == "__main__":
    main()

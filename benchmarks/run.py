"""Speed and memory of mixedfx side by side with lme4 / lmerTest / pbkrtest, in one run.

    python benchmarks/run.py                       # every model, both engines
    python benchmarks/run.py --suite inference     # t tables, KR, bootstrap (issue 4)
    python benchmarks/run.py --only sleepstudy --repeat 5 --json out.json

Each measurement runs in a fresh child process (``python`` for mixedfx, ``Rscript`` for R),
the engines alternating model by model; the child times its own work (median of the
repeats, after one warm-up) and the parent reads the child's peak resident memory.  R is
used when ``Rscript`` with lme4 is on the PATH; its BLAS is reported.  Times run from a
loaded data frame to a fitted result, formula processing included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Task:
    """One thing to time: a model fit, or an inference step on a fitted model."""

    name: str
    data: str  # bundled data set name, or a path to a CSV
    factors: tuple[str, ...]
    formula: str
    reml: bool
    step: str = "fit"  # fit | satterthwaite | kenward-roger | bootstrap


FIT_TASKS = [
    Task("sleepstudy", "sleepstudy", ("Subject",), "Reaction ~ Days + (Days | Subject)", True),
    Task(
        "penicillin",
        "Penicillin",
        ("plate", "sample"),
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
        True,
    ),
    Task("pastes", "Pastes", ("batch", "cask"), "strength ~ 1 + (1 | batch/cask)", True),
    Task(
        "insteval_ml",
        "InstEval",
        ("s", "d", "dept", "service"),
        "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)",
        False,
    ),
]
INFERENCE_TASKS = [
    Task(f"{t.name}:{step}", t.data, t.factors, t.formula, True, step)
    for t in FIT_TASKS[:2]
    for step in ("satterthwaite", "kenward-roger", "bootstrap")
]

PY_CHILD = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
import mixedfx as mfx
task = json.loads(sys.argv[1]); repeat = int(sys.argv[2])
data = (mfx.datasets.load(task["data"]) if "/" not in task["data"]
        else pd.read_csv(task["data"], dtype={c: str for c in task["factors"]}))
warnings.simplefilter("ignore")
def once():
    t0 = time.perf_counter()
    fit = mfx.lmer(task["formula"], data, reml=task["reml"])
    t1 = time.perf_counter()
    if task["step"] == "satterthwaite": fit.coef_table("satterthwaite")
    elif task["step"] == "kenward-roger": fit.coef_table("kenward-roger")
    elif task["step"] == "bootstrap": mfx.bootstrap(fit, 1000, seed=1, progress=lambda i, n: None)
    t2 = time.perf_counter()
    return (t1 - t0) if task["step"] == "fit" else (t2 - t1), fit.optinfo.evaluations
once()
runs = [once() for _ in range(repeat)]
print(json.dumps({"seconds": float(np.median([r[0] for r in runs])), "evals": runs[0][1]}))
"""

R_CHILD = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
task <- fromJSON(args[1]); repeat_n <- as.integer(args[2])
classes <- setNames(rep("factor", length(task$factors)), task$factors)
data <- read.csv(task$data, colClasses = classes)
once <- function() {
  t0 <- proc.time()[["elapsed"]]
  fit <- lme4::lmer(as.formula(task$formula), data = data, REML = task$reml)
  t1 <- proc.time()[["elapsed"]]
  if (task$step == "satterthwaite") summary(as_lmerModLmerTest(fit))
  if (task$step == "kenward-roger") summary(as_lmerModLmerTest(fit), ddf = "Kenward-Roger")
  if (task$step == "bootstrap") bootMer(fit, function(m) c(fixef(m), sigma(m), getME(m, "theta")),
                                        nsim = 1000, seed = 1)
  t2 <- proc.time()[["elapsed"]]
  list(seconds = if (task$step == "fit") t1 - t0 else t2 - t1, evals = fit@optinfo$feval)
}
invisible(once())
runs <- lapply(seq_len(repeat_n), function(i) once())
blas <- tryCatch(extSoftVersion()[["BLAS"]], error = function(e) "unknown")
cat(toJSON(list(seconds = median(sapply(runs, `[[`, "seconds")), evals = runs[[1]]$evals,
                blas = blas), auto_unbox = TRUE))
"""


def run_child(command: list[str]) -> tuple[dict, float]:
    """Run a child; returns its JSON output and its peak resident memory in MB."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    if status != 0:
        raise RuntimeError(f"{command[0]} failed: {err.strip()[-400:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def csv_for(task: Task, folder: Path) -> str:
    """A CSV of the task's data for R (bundled sets are written out once)."""
    if "/" in task.data:
        return task.data
    path = folder / f"{task.data}.csv"
    if not path.exists():
        import mixedfx as mfx

        mfx.datasets.load(task.data).to_csv(path, index=False)
    return str(path)


def has_r() -> bool:
    if not shutil.which("Rscript"):
        return False
    check = subprocess.run(
        ["Rscript", "-e", "library(lme4); library(lmerTest); library(jsonlite)"],
        capture_output=True,
    )
    return check.returncode == 0


def measure(tasks: list[Task], repeat: int, with_r: bool) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for task in tasks:
            spec = task.__dict__ | {"factors": list(task.factors)}
            py, py_mem = run_child([sys.executable, "-c", PY_CHILD, json.dumps(spec), str(repeat)])
            row = {
                "task": task.name,
                "mixedfx_s": py["seconds"],
                "mixedfx_MB": py_mem,
                "mixedfx_evals": py["evals"],
            }
            if with_r:
                r_spec = spec | {"data": csv_for(task, folder)}
                script = folder / "child.R"
                script.write_text(R_CHILD)
                r, r_mem = run_child(["Rscript", str(script), json.dumps(r_spec), str(repeat)])
                row |= {
                    "lme4_s": r["seconds"],
                    "lme4_MB": r_mem,
                    "lme4_evals": r["evals"],
                    "ratio_lme4_over_mixedfx": r["seconds"] / py["seconds"],
                    "R_BLAS": r["blas"],
                }
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1), flush=True)
    return pd.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--suite", choices=["fit", "inference", "all"], default="all")
    parser.add_argument("--only", help="run tasks whose name contains this")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    parser.add_argument("--no-r", action="store_true", help="time mixedfx only")
    args = parser.parse_args()
    tasks = {"fit": FIT_TASKS, "inference": INFERENCE_TASKS, "all": FIT_TASKS + INFERENCE_TASKS}
    chosen = [t for t in tasks[args.suite] if not args.only or args.only in t.name]
    with_r = not args.no_r and has_r()
    if not with_r:
        print("R with lme4/lmerTest/jsonlite not found: timing mixedfx only", file=sys.stderr)
    table = measure(chosen, args.repeat, with_r)
    print("\n" + table.to_string(index=False))
    if args.json:
        args.json.write_text(table.to_json(orient="records", indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

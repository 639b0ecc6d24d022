"""Speed and memory of mixedfx side by side with lme4 / lmerTest / pbkrtest (reference BLAS and
OpenBLAS), mixedlm and statsmodels, in one run.

    python benchmarks/run.py                       # every model, both engines
    python benchmarks/run.py --suite inference     # t tables, KR, bootstrap (issue 4)
    python benchmarks/run.py --suite dispersion    # a residual SD per stratum: nlme, glmmTMB
    python benchmarks/run.py --only sleepstudy --repeat 5 --json out.json

Each measurement runs in a fresh child process (``python`` for mixedfx, ``Rscript`` for R),
the engines alternating model by model; the child times its own work (median of the
repeats, after one warm-up; a short fit repeats until it has filled about a second, up to
1000 runs) and the parent reads the child's peak resident memory.  R is
used when ``Rscript`` with lme4 is on the PATH; its BLAS is reported.  Times run from a
loaded data frame to a fitted result, formula processing included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
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
    dispformula: str | None = None  # a residual SD per stratum (nlme, glmmTMB as peers)


def simulate_slopes(path: Path) -> None:
    """500,000 rows in 125,000 groups: y ~ x1 + x2 + (1 + x1 | g)."""
    rng = np.random.default_rng(1)
    n, groups = 500_000, 125_000
    g = rng.integers(0, groups, n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    b0, b1 = rng.normal(size=groups), 0.5 * rng.normal(size=groups)
    y = 1 + 2 * x1 - x2 + b0[g] + b1[g] * x1 + rng.normal(size=n)
    pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g}).to_csv(path, index=False)


def simulate_movielens(path: Path) -> None:
    """A MovieLens-1M-sized crossed design: 1,000,000 ratings, 6,040 users × 3,706 items."""
    rng = np.random.default_rng(2)
    n, users, items = 1_000_000, 6_040, 3_706
    user = rng.integers(0, users, n)
    item = np.minimum(rng.zipf(1.3, n) - 1, items - 1)  # popular items rated far more often
    y = 3.5 + 0.4 * rng.normal(size=users)[user] + 0.6 * rng.normal(size=items)[item]
    y = y + rng.normal(size=n)
    pd.DataFrame({"y": y, "user": user, "item": item}).to_csv(path, index=False)


def simulate_crossed3(path: Path) -> None:
    """50,000 rows, subjects × items crossed, each with a 3 × 3 random-effects covariance."""
    rng = np.random.default_rng(3)
    n, subjects, items = 50_000, 250, 200
    s, i = rng.integers(0, subjects, n), rng.integers(0, items, n)
    x1, x2 = rng.choice([-0.5, 0.5], n), rng.choice([-0.5, 0.5], n)
    cov = np.array([[1.0, 0.3, 0.1], [0.3, 0.5, 0.1], [0.1, 0.1, 0.3]])
    bs = rng.multivariate_normal(np.zeros(3), cov, subjects)
    bi = rng.multivariate_normal(np.zeros(3), cov, items)
    design = np.column_stack([np.ones(n), x1, x2])
    y = design @ [1.0, 0.5, -0.3] + np.sum(design * bs[s], 1) + np.sum(design * bi[i], 1)
    y = y + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "subj": s, "item": i})
    frame.to_csv(path, index=False)


def simulate_dispersion(path: Path) -> None:
    """500,000 rows in 125,000 groups, y ~ x + (1 | g), the residual SD differing between 10
    strata s (from 0.6 to 1.65)."""
    rng = np.random.default_rng(4)
    n, groups, strata = 500_000, 125_000, 10
    g, s = rng.integers(0, groups, n), rng.integers(0, strata, n)
    x = rng.normal(size=n)
    sd = np.exp(np.linspace(-0.5, 0.5, strata))[s]
    y = 1 + 0.5 * x + rng.normal(size=groups)[g] + sd * rng.normal(size=n)
    strata_names = np.char.add("s", s.astype(str))
    pd.DataFrame({"y": y, "x": x, "g": g, "s": strata_names}).to_csv(path, index=False)


PEERS = ("mixedlm", "statsmodels")

SIMULATED = {
    "sim_slopes": simulate_slopes,
    "sim_movielens": simulate_movielens,
    "sim_crossed3": simulate_crossed3,
    "sim_dispersion": simulate_dispersion,
}

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
    Task(
        "insteval_reml",
        "InstEval",
        ("s", "d", "dept", "service"),
        "y ~ service * dept + (1 | s) + (1 | d)",
        True,
    ),
    Task("sim_slopes", "sim_slopes", ("g",), "y ~ x1 + x2 + (1 + x1 | g)", True),
    Task(
        "sim_crossed3",
        "sim_crossed3",
        ("subj", "item"),
        "y ~ x1 + x2 + (1 + x1 + x2 | subj) + (1 + x1 + x2 | item)",
        True,
    ),
    Task(
        "sim_movielens", "sim_movielens", ("user", "item"), "y ~ 1 + (1 | user) + (1 | item)", True
    ),
]


def after_fit(fit: Task, step: str) -> Task:
    """The fit's task followed by an inference step, the step timed."""
    return replace(fit, name=f"{fit.name}:{step}", step=step)


FITS = {t.name: t for t in FIT_TASKS}
INFERENCE_TASKS = [
    *(
        after_fit(FITS[name], step)
        for name in ("sleepstudy", "penicillin")
        for step in ("satterthwaite", "kenward-roger", "bootstrap")
    ),
    # at scale: lmerTest's table after an ML fit, and Kenward–Roger on the REML model, where
    # pbkrtest's n × n covariance (73,421² doubles, 43 GB) exceeds `--memory-limit`
    after_fit(FITS["insteval_ml"], "satterthwaite"),
    after_fit(FITS["insteval_reml"], "kenward-roger"),
]

# each dispersion model beside the same model with one residual SD: mixedfx's ratio of the
# two is the cost of the strata; nlme (varIdent) and glmmTMB (dispformula) fit the first
DISPERSION_TASKS = [
    task
    for name, data, factors, formula, reml, disp in [
        (
            "exercise_mood",
            "exercise_mood",
            ("State",),
            "Mood ~ Exercise + (1 + Exercise | State)",
            True,
            "~ State",
        ),
        ("sim_dispersion", "sim_dispersion", ("g", "s"), "y ~ x + (1 | g)", False, "~ s"),
    ]
    for task in (
        Task(f"{name}:dispersion", data, factors, formula, reml, dispformula=disp),
        Task(f"{name}:one_sd", data, factors, formula, reml),
    )
]

PY_CHILD = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
task = json.loads(sys.argv[1]); repeat = int(sys.argv[2]); engine = sys.argv[3]
warnings.simplefilter("ignore")
if engine == "mixedfx":
    import mixedfx as mfx
    data = (mfx.datasets.load(task["data"]) if "/" not in task["data"]
            else pd.read_csv(task["data"], dtype={c: str for c in task["factors"]}))
else:
    data = pd.read_csv(task["data"], dtype={c: str for c in task["factors"]})

def fit_mixedfx():
    fit = mfx.lmer(task["formula"], data, reml=task["reml"], dispformula=task["dispformula"])
    return fit, fit.optinfo.evaluations

def fit_mixedlm():
    import mixedlm
    fit = mixedlm.lmer(task["formula"], data, REML=task["reml"])
    return fit, getattr(fit, "function_evals", None)

def fit_statsmodels():
    import statsmodels.formula.api as smf
    sm = task["statsmodels"]
    model = smf.mixedlm(sm["fixed"], data, groups=data[sm["group"]], re_formula=sm["re"])
    fit = model.fit(reml=task["reml"])
    return fit, None

def objective_of(fit):
    # the minimized criterion (REML criterion or ML deviance) and θ ↦ criterion, if any
    if engine == "mixedfx":
        f, theta = fit.deviance_function(), fit.theta
        return fit.objective, lambda: f(theta)
    if engine == "mixedlm":
        value = fit.REMLcrit() if task["reml"] else fit.deviance
        value = value() if callable(value) else value  # a method in some versions
        f, theta = fit.as_function("deviance"), np.asarray(fit.theta)
        return value, lambda: f(theta)
    return -2 * fit.llf, None

def per_evaluation(evaluate):
    # seconds per objective evaluation at the optimum (mean of a batch of ≥ 0.2 s)
    t0 = time.perf_counter(); evaluate(); first = time.perf_counter() - t0
    count = int(min(2000, max(3, 0.2 / max(first, 1e-7))))
    t0 = time.perf_counter()
    for _ in range(count): evaluate()
    return (time.perf_counter() - t0) / count

fit_model = {"mixedfx": fit_mixedfx, "mixedlm": fit_mixedlm, "statsmodels": fit_statsmodels}[engine]

def once():
    t0 = time.perf_counter()
    fit, evals = fit_model()
    t1 = time.perf_counter()
    if task["step"] == "satterthwaite": str(fit.summary())
    elif task["step"] == "kenward-roger": fit.coef_table("kenward-roger")
    elif task["step"] == "bootstrap": mfx.bootstrap(fit, 1000, seed=1, progress=lambda i, n: None)
    t2 = time.perf_counter()
    return (t1 - t0) if task["step"] == "fit" else (t2 - t1), evals, t1 - t0

first = once()
# short fits repeat until about a second of work, so that a burst of noise on a shared
# machine moves the median little: at least `repeat` runs, at most 1000
count = max(repeat, min(1000, int(1.0 / max(first[0], 1e-6))))
runs = [once() for _ in range(count)] if first[0] < 60 else [first]
out = {"seconds": float(np.median([r[0] for r in runs])), "evals": runs[0][1]}
if task["step"] != "fit":
    out["fit_seconds"] = float(np.median([r[2] for r in runs]))
if task["step"] == "fit":
    out["objective"], evaluate = objective_of(fit_model()[0])
    out["eval_seconds"] = per_evaluation(evaluate) if evaluate else None
print(json.dumps(out))
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
  # where pbkrtest fails (its n x n matrices beyond the memory limit) lmerTest warns and
  # falls back to Satterthwaite: that is a failure here, not a Kenward-Roger time
  if (task$step == "kenward-roger") withCallingHandlers(
    summary(as_lmerModLmerTest(fit), ddf = "Kenward-Roger"),
    warning = function(w) if (grepl("Kenward-Roger", conditionMessage(w))) stop(w))
  if (task$step == "bootstrap") bootMer(fit, function(m) c(fixef(m), sigma(m), getME(m, "theta")),
                                        nsim = 1000, seed = 1)
  t2 <- proc.time()[["elapsed"]]
  list(seconds = if (task$step == "fit") t1 - t0 else t2 - t1, evals = fit@optinfo$feval,
       fit_seconds = t1 - t0)
}
first <- once()
count <- max(repeat_n, min(1000L, as.integer(1 / max(first$seconds, 1e-3))))
runs <- if (first$seconds < 60) lapply(seq_len(count), function(i) once()) else list(first)
blas <- tryCatch(extSoftVersion()[["BLAS"]], error = function(e) "unknown")
out <- list(seconds = median(sapply(runs, `[[`, "seconds")), evals = runs[[1]]$evals, blas = blas)
if (task$step != "fit") out$fit_seconds <- median(sapply(runs, `[[`, "fit_seconds"))
if (task$step == "fit") {
  fit <- lme4::lmer(as.formula(task$formula), data = data, REML = task$reml)
  out$objective <- if (isREML(fit)) REMLcrit(fit) else deviance(fit)
  devfun <- lme4::lmer(as.formula(task$formula), data = data, REML = task$reml, devFunOnly = TRUE)
  theta <- getME(fit, "theta")
  first <- system.time(devfun(theta))[["elapsed"]]
  count <- as.integer(min(2000, max(3, 0.2 / max(first, 1e-4))))
  out$eval_seconds <- system.time(for (i in seq_len(count)) devfun(theta))[["elapsed"]] / count
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
"""


R_DISPERSION_CHILD = r"""
suppressPackageStartupMessages({library(nlme); library(glmmTMB); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
task <- fromJSON(args[1]); repeat_n <- as.integer(args[2]); engine <- args[3]
classes <- setNames(rep("factor", length(task$factors)), task$factors)
data <- read.csv(task$data, colClasses = classes)
strata <- trimws(sub("~", "", task$dispformula))
fit_once <- function() {
  if (engine == "nlme") {
    lme(as.formula(task$nlme$fixed), random = as.formula(task$nlme$random), data = data,
        weights = varIdent(form = as.formula(paste("~ 1 |", strata))),
        method = if (task$reml) "REML" else "ML")
  } else {
    glmmTMB(as.formula(task$formula), dispformula = as.formula(task$dispformula),
            data = data, REML = task$reml)
  }
}
once <- function() {
  t0 <- proc.time()[["elapsed"]]; fit <- fit_once(); t1 <- proc.time()[["elapsed"]]
  list(seconds = t1 - t0, fit = fit)
}
first <- once()
count <- max(repeat_n, min(1000L, as.integer(1 / max(first$seconds, 1e-3))))
runs <- if (first$seconds < 60) lapply(seq_len(count), function(i) once()) else list(first)
out <- list(seconds = median(sapply(runs, `[[`, "seconds")),
            objective = -2 * as.numeric(logLik(first$fit)))
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def nlme_spec(task: Task) -> dict | None:
    """nlme's ``lme`` takes the fixed part and one random part ``~ expr | g``."""
    parts = single_term(task)
    if parts is None:
        return None
    fixed, expr, group = parts
    return {"fixed": fixed, "random": f"~ {expr} | {group}"}


def dispersion_engines() -> list[Engine]:
    """nlme and glmmTMB, where R has them, for the tasks with a dispersion formula."""
    if not shutil.which("Rscript"):
        return []
    check = subprocess.run(
        ["Rscript", "-e", "library(nlme); library(glmmTMB); library(jsonlite)"],
        capture_output=True,
    )
    if check.returncode != 0:
        print("R with nlme/glmmTMB/jsonlite not found: left out", file=sys.stderr)
        return []
    return [
        Engine(name, ("Rscript", "{dispersion_script}"), steps=DISPERSION_STEPS)
        for name in ("nlme", "glmmTMB")
    ]


def run_child(
    command: list[str], timeout: float, env: dict[str, str], memory_limit: int
) -> tuple[dict | None, float]:
    """Run a child with at most `memory_limit` bytes of address space (an allocation beyond
    fails in the child, not the machine); its JSON output (None if it failed or ran out of
    time) and peak RSS in MB."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        environment = os.environ | env
        process = subprocess.Popen(
            command, stdout=out, stderr=err, text=True, env=environment, preexec_fn=limit_memory
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                print(f"  {command[0]}: stopped after {timeout:.0f} s", file=sys.stderr)
                return None, float("nan")
            time.sleep(0.01)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        memory = usage.ru_maxrss / 1024
        if process.returncode != 0:
            print(f"  {command[0]} failed: {err.read().strip()[-300:]}", file=sys.stderr)
            return None, memory
        return json.loads(out.read().strip().splitlines()[-1]), memory


def csv_for(task: Task, folder: Path) -> str:
    """A CSV of the task's data for every engine (written once per run)."""
    path = folder / f"{task.data}.csv"
    if not path.exists():
        if task.data in SIMULATED:
            SIMULATED[task.data](path)
        else:
            import mixedfx as mfx

            mfx.datasets.load(task.data).to_csv(path, index=False)
    return str(path)


def single_term(task: Task) -> tuple[str, str, str] | None:
    """The fixed formula, the random term's expression and its one grouping factor, for the
    peers that take one grouping factor; None for other models."""
    from mixedfx.formula import parse_formula

    parsed = parse_formula(task.formula)
    if len(parsed.random) != 1 or len(parsed.random[0].factors) != 1:
        return None
    bar = parsed.random[0]
    return f"{parsed.response} ~ {parsed.fixed}", bar.expr, bar.factors[0]


def statsmodels_spec(task: Task) -> dict | None:
    """statsmodels' MixedLM takes one grouping factor: its fixed formula, group, re_formula."""
    parts = single_term(task)
    if parts is None:
        return None
    fixed, expr, group = parts
    return {"fixed": fixed, "group": group, "re": f"~ {expr}"}


@dataclass(frozen=True)
class Engine:
    """A way to fit: the child command, extra environment, and the task steps it can run."""

    name: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    steps: frozenset[str] = frozenset({"fit"})


ALL_STEPS = frozenset({"fit", "satterthwaite", "kenward-roger", "bootstrap"})
# engines that fit only models with a dispersion formula, and only those
DISPERSION_STEPS = frozenset({"dispersion"})


def runs(engine: Engine, task: Task) -> bool:
    """Whether `engine` fits `task`: its step, and a dispersion formula only where it can."""
    if engine.steps == DISPERSION_STEPS:
        return task.dispformula is not None and task.step == "fit"
    return task.step in engine.steps and (task.dispformula is None or engine.name == "mixedfx")


def r_engines() -> list[Engine]:
    """lme4 with R's reference BLAS and with OpenBLAS, each chosen for its process by putting
    the library's directory first on ``R_LD_LIBRARY_PATH`` (Debian's R reads it in
    ``etc/ldpaths``; the packages are libblas3/liblapack3 and libopenblas0-pthread)."""
    if not shutil.which("Rscript"):
        return []
    check = subprocess.run(
        ["Rscript", "-e", "library(lme4); library(lmerTest); library(jsonlite)"],
        capture_output=True,
    )
    if check.returncode != 0:
        return []
    r_home = subprocess.run(["R", "RHOME"], capture_output=True, text=True).stdout.strip()
    blas = {
        "lme4": ["/usr/lib/*/blas/libblas.so.3", "/usr/lib/*/lapack/liblapack.so.3"],
        "lme4_openblas": ["/usr/lib/*/openblas-pthread/libblas.so.3"],
    }
    engines = []
    for name, patterns in blas.items():
        found = [sorted(Path("/").glob(p.lstrip("/"))) for p in patterns]
        if not all(found):
            print(f"{name}: {patterns} not installed, left out", file=sys.stderr)
            continue
        dirs = [str(f[0].parent) for f in found] + [f"{r_home}/lib"]
        env = (("R_LD_LIBRARY_PATH", ":".join(dirs)),)
        engines.append(Engine(name, ("Rscript", "{script}"), env, ALL_STEPS))
    return engines


def measure(
    tasks: list[Task], repeat: int, engines: list[Engine], timeout: float, memory_limit: int
) -> pd.DataFrame:
    """Time every task with every engine, alternating engines task by task."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scripts = {"{script}": folder / "child.R", "{dispersion_script}": folder / "disp.R"}
        scripts["{script}"].write_text(R_CHILD)
        scripts["{dispersion_script}"].write_text(R_DISPERSION_CHILD)
        for task in tasks:
            spec = task.__dict__ | {"factors": list(task.factors), "data": csv_for(task, folder)}
            spec["statsmodels"] = statsmodels_spec(task)
            spec["nlme"] = nlme_spec(task)
            row: dict[str, object] = {"task": task.name}
            for engine in engines:
                if not runs(engine, task):
                    continue
                if engine.name == "statsmodels" and spec["statsmodels"] is None:
                    continue
                command = [str(scripts.get(c, c)) for c in engine.command]
                argv = [*command, json.dumps(spec), str(repeat), engine.name]
                result, memory = run_child(argv, timeout, dict(engine.env), memory_limit)
                row[f"{engine.name}_s"] = result["seconds"] if result else float("nan")
                row[f"{engine.name}_MB"] = memory
                columns = (("evals", "evals"), ("eval_seconds", "eval_s"), ("fit_seconds", "fit_s"))
                for key, column in columns:
                    if result and result.get(key) is not None:
                        row[f"{engine.name}_{column}"] = result[key]
                if result and result.get("objective") is not None:
                    row[f"{engine.name}_objective"] = result["objective"]
                if result and result.get("blas"):
                    row[f"{engine.name}_BLAS"] = Path(str(result["blas"])).name
            rows.append(with_ratios(row, engines))
            print(json.dumps(rows[-1]), flush=True)
    return pd.DataFrame(rows)


def with_ratios(row: dict[str, object], engines: list[Engine]) -> dict[str, object]:
    """Each peer's time over mixedfx's (fit and single evaluation), its objective minus
    mixedfx's (positive: mixedfx found a lower minimum), and for an inference step each
    engine's step time over its own fit's."""
    out = dict(row)
    for engine in engines:
        step, fit = row.get(f"{engine.name}_s"), row.get(f"{engine.name}_fit_s")
        if isinstance(step, float) and isinstance(fit, float):
            out[f"{engine.name} step/fit"] = step / fit
    for engine in engines[1:]:
        for suffix in ("s", "eval_s"):
            mine, theirs = row.get(f"mixedfx_{suffix}"), row.get(f"{engine.name}_{suffix}")
            if isinstance(mine, float) and isinstance(theirs, float):
                out[f"{engine.name}/mixedfx" + ("" if suffix == "s" else " eval")] = theirs / mine
        mine, theirs = row.get("mixedfx_objective"), row.get(f"{engine.name}_objective")
        if isinstance(mine, float) and isinstance(theirs, float):
            out[f"{engine.name} objective - mixedfx"] = theirs - mine
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--suite", choices=["fit", "inference", "dispersion", "all"], default="all")
    parser.add_argument(
        "--only", help="run tasks whose name contains this (several: separated by commas)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    parser.add_argument("--no-r", action="store_true", help="do not time lme4")
    parser.add_argument(
        "--peers-python",
        type=Path,
        help="a Python with statsmodels and mixedlm installed (a separate venv)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per child process")
    parser.add_argument(
        "--memory-limit", type=float, default=12, help="GB of address space per child process"
    )
    args = parser.parse_args()
    tasks = {
        "fit": FIT_TASKS,
        "inference": INFERENCE_TASKS,
        "dispersion": DISPERSION_TASKS,
        "all": FIT_TASKS + INFERENCE_TASKS + DISPERSION_TASKS,
    }
    wanted = args.only.split(",") if args.only else [""]
    chosen = [t for t in tasks[args.suite] if any(w in t.name for w in wanted)]
    engines = [Engine("mixedfx", (sys.executable, "-c", PY_CHILD), steps=ALL_STEPS)]
    if not args.no_r:
        engines += r_engines() or []
        if len(engines) == 1:
            print("R with lme4/lmerTest/jsonlite not found: lme4 left out", file=sys.stderr)
        engines += dispersion_engines()
    if args.peers_python:
        engines += [Engine(p, (str(args.peers_python), "-c", PY_CHILD)) for p in PEERS]
    table = measure(chosen, args.repeat, engines, args.timeout, int(args.memory_limit * 2**30))
    pd.set_option("display.width", 250)
    print("\n" + table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if args.json:
        args.json.write_text(table.to_json(orient="records", indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

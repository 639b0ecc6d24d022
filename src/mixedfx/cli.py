"""The ``mixedfx`` command: a thin layer over the public API.

    mixedfx demo                      fit the bundled examples and print their summaries
    mixedfx fit FORMULA DATA [--ml]   fit a CSV or Parquet file and print the summary
    mixedfx datasets                  list the bundled data sets

Errors the user can fix (a missing file, a bad formula, an unknown column) print one line
and exit with status 2; they never show a traceback.  Formulas from the command line may use
only the transforms listed in `mixedfx.formula.safe`: no other Python is evaluated.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mixedfx import datasets
from mixedfx.errors import MixedFxError
from mixedfx.formula.safe import check_safe_formula
from mixedfx.lmm import lmer


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _show_warning
            return int(args.run(args))
    except (MixedFxError, OSError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"mixedfx: error: {message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixedfx", description="Linear mixed-effects models.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="the founding article's analysis on the bundled data")
    demo.add_argument(
        "--out", type=Path, default=Path("mixedfx-demo"), help="folder for figures and report"
    )
    demo.set_defaults(run=_demo)
    fit = sub.add_parser("fit", help="fit a model to a CSV or Parquet file")
    fit.add_argument("formula", help="lme4 formula, e.g. 'y ~ x + (1 | g)'")
    fit.add_argument("data", type=Path, help="a .csv or .parquet file")
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    fit.add_argument(
        "--format", choices=["text", "json", "markdown"], default="text", help="output format"
    )
    fit.set_defaults(run=_fit)
    listing = sub.add_parser("datasets", help="list the bundled data sets")
    listing.set_defaults(run=_datasets)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from mixedfx.demo import run_demo

    results, report = run_demo(args.out)
    r = results
    blocks = [
        ("Pooled regression: lm(Mood ~ Exercise)", r.pooled.summary()),
        ("State as a fixed effect: lm(Mood ~ Exercise + State)", r.with_state.summary()),
        ("One regression per State", r.per_state.coef_table().to_string(index=False)),
        ("Mixed model: Mood ~ Exercise + (1 + Exercise | State), ML", r.slopes.summary()),
        ("Root-mean-square error and fit of the four models", r.rmse.to_string()),
        ("Random intercepts vs random slopes: likelihood-ratio test", r.lrt.to_string()),
    ]
    for title, body in blocks:
        print(f"== {title}\n\n{body}\n")
    print(f"Figures and report written to {args.out.resolve()}; open {report.resolve()}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    check_safe_formula(args.formula)
    fit = lmer(args.formula, read_table(args.data), reml=not args.ml)
    if args.format == "json":
        print(json.dumps(fit.to_dict(), indent=2))
    elif args.format == "markdown":
        print(fit.summary().to_markdown())
    else:
        print(fit.summary())
    return 0


def _datasets(args: argparse.Namespace) -> int:
    for name in datasets.names():
        print(f"{name:15s} {datasets.describe(name)}")
    return 0


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a data frame.

    Raises
    ------
    OSError
        When the file is missing or cannot be read as its extension says.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, ImportError, UnicodeDecodeError) as exc:
        raise OSError(f"cannot read {path}: {exc}") from None


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    print(f"mixedfx: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

"""The ``mixedfx`` command: a thin layer over the public API.

    mixedfx demo                      fit the bundled examples and print their summaries
    mixedfx fit FORMULA DATA [--ml]   fit a CSV or Parquet file and print the summary
    mixedfx datasets                  list the bundled data sets
    mixedfx --version

Every error reaches the user as one line on stderr and a non-zero exit status, never a
traceback: 2 for what the user can fix (a missing file, a bad formula, an unknown column,
a bad option), 1 for a bug (with a request to report it), 130 for Ctrl-C.  Output cut short by
the reader (``mixedfx fit … | head``) ends quietly.  Formulas from the command line pass
`mixedfx.check_formula` before anything is evaluated: no Python but the allowed transforms runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from mixedfx import __version__, datasets
from mixedfx.errors import MixedFxError
from mixedfx.messages import shorten

USAGE_ERROR = 2
BUG = 1
CUT_SHORT = 1  # Python's own status when a write meets a closed pipe
INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
LINE_LIMIT = 500
ERROR = "mixedfx: error: "
# Hidden from users as Python hides them by default: a file an interrupted import left open,
# a library's notice to its own developers.
DEVELOPER_WARNINGS = (ResourceWarning, DeprecationWarning, PendingDeprecationWarning, ImportWarning)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            for category in DEVELOPER_WARNINGS:
                warnings.simplefilter("ignore", category)
            warnings.showwarning = _show_warning
            status = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers, not at exit
        return status
    except KeyboardInterrupt:
        _say("mixedfx: ", "interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        # the reader left (`| head`): send what is still buffered nowhere and stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CUT_SHORT
    except (MixedFxError, OSError, ValueError) as exc:
        _say(ERROR, _first_line(exc))
        return USAGE_ERROR
    except Exception as exc:
        _say(
            ERROR,
            f"unexpected {type(exc).__name__}: {_first_line(exc)} (a bug in mixedfx: please "
            "report it to the mixedfx developers with the command and data that caused it)",
        )
        return BUG


def _say(prefix: str, message: str) -> None:
    """Print `message` as one line on stderr, at most `LINE_LIMIT` characters after `prefix`."""
    print(f"{prefix}{shorten(message, LINE_LIMIT)}", file=sys.stderr)


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Parser(argparse.ArgumentParser):
    """argparse's parser with its errors as one line (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        _say(ERROR, f"{message} (see '{self.prog} --help')")
        sys.exit(USAGE_ERROR)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mixedfx", description="Linear mixed-effects models.")
    parser.add_argument("--version", action="version", version=f"mixedfx {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)
    demo = sub.add_parser("demo", help="the founding article's analysis on the bundled data")
    demo.add_argument(
        "--out", type=Path, default=Path("mixedfx-demo"), help="folder for figures and report"
    )
    demo.set_defaults(run=_demo)
    fit = sub.add_parser("fit", help="fit a model to a CSV or Parquet file")
    fit.add_argument("formula", help="lme4 formula, e.g. 'y ~ x + (1 | g)'")
    fit.add_argument("data", type=Path, help="a .csv or .parquet file")
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    fit.add_argument("--weights", metavar="COLUMN", help="prior weights (inverse variances)")
    fit.add_argument("--offset", metavar="COLUMN", help="a known part of the linear predictor")
    fit.add_argument(
        "--dispformula",
        metavar="'~ G'",
        help="a residual SD per level of G (nlme's varIdent); '~ x' for a numeric x",
    )
    fit.add_argument(
        "--format", choices=["text", "json", "markdown"], default="text", help="output format"
    )
    fit.set_defaults(run=_fit)
    listing = sub.add_parser("datasets", help="list the bundled data sets")
    listing.set_defaults(run=_datasets)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from mixedfx.demo import dispersion_finding, run_demo

    results, report = run_demo(args.out)
    r = results
    blocks = [
        ("Pooled regression: lm(Mood ~ Exercise)", r.pooled.summary()),
        ("State as a fixed effect: lm(Mood ~ Exercise + State)", r.with_state.summary()),
        ("One regression per State", r.per_state.coef_table().to_string(index=False)),
        ("Mixed model: Mood ~ Exercise + (1 + Exercise | State), ML", r.slopes.summary()),
        ("Root-mean-square error and fit of the four models", r.rmse.to_string()),
        ("Random intercepts vs random slopes: likelihood-ratio test", r.lrt.to_string()),
        (
            "One residual SD vs one per State (dispformula = ~ State): likelihood-ratio test",
            r.dispersion_lrt.to_string() + "\n\n" + dispersion_finding(r),
        ),
        ("Residual SD by State with 95% intervals", r.residual_sds.to_string()),
    ]
    for title, body in blocks:
        print(f"== {title}\n\n{body}\n")
    print(f"Figures and report written to {args.out.resolve()}; open {report.resolve()}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    from mixedfx.models.lmm import lmer

    data = read_table(args.data)
    fit = lmer(
        args.formula,
        data,
        reml=not args.ml,
        weights=args.weights,
        offset=args.offset,
        dispformula=args.dispformula,
        safe=True,
    )
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
        When the file is missing, is a directory, or cannot be read as its extension says
        (for Parquet without pyarrow, with the command that installs it).
    """
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory: give a .csv or .parquet file")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        return pd.read_parquet(path) if parquet else pd.read_csv(path)
    except ImportError:
        raise OSError(
            f"cannot read {path}: reading Parquet needs pyarrow; install it with "
            "'pip install pyarrow'"
        ) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise OSError(f"cannot read {path}: {_first_line(exc)}") from None


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    _say("mixedfx: warning: ", _first_line(message))


if __name__ == "__main__":
    sys.exit(main())

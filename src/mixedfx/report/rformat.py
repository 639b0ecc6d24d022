"""Numbers formatted as R prints them, so summaries read like the lme4 output users know.

R's ``format(x, digits = d)`` shows every element with at least d significant digits and
all elements with the same number of decimals: the most any element needs once its
trailing zeros are dropped (R's ``formatReal``, fixed notation).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

DIGITS = 4  # R's summaries print with max(3, getOption("digits") - 3)


def decimals_needed(x: float, digits: int) -> int:
    """Decimals that show `x` to `digits` significant digits, trailing zeros dropped."""
    if x == 0 or not math.isfinite(x):
        return 0
    power = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - power)
    text = f"{abs(x):.{decimals}f}"
    if "." in text:
        decimals = len(text.rstrip("0").split(".")[1])
    return decimals


def format_numbers(values: Sequence[float] | np.ndarray, digits: int) -> list[str]:
    """Format a vector like R's ``format(x, digits)``: common decimals, common width."""
    xs = [float(v) for v in values]
    decimals = max((decimals_needed(x, digits) for x in xs), default=0)
    texts = [_fixed(x, decimals) for x in xs]
    width = max((len(t) for t in texts), default=0)
    return [t.rjust(width) for t in texts]


def zapsmall(values: np.ndarray, digits: int) -> np.ndarray:
    """R's ``zapsmall``: round so that values tiny next to the largest print as 0."""
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if largest <= 0:
        return np.round(values, digits)
    return np.round(values, max(0, digits - math.ceil(math.log10(largest))))


def format_fixed(values: Sequence[float] | np.ndarray, decimals: int) -> list[str]:
    """Every value with exactly `decimals` decimals, right-aligned (R's ``nsmall``)."""
    texts = [_fixed(float(x), decimals) for x in values]
    width = max((len(t) for t in texts), default=0)
    return [t.rjust(width) for t in texts]


def _fixed(x: float, decimals: int) -> str:
    if math.isnan(x):
        return "NA"
    text = f"{x:.{decimals}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def abbreviate(name: str, minlength: int = 6) -> str:
    """R's ``abbreviate``: drop lower-case vowels, then lower-case letters, from the right."""
    if len(name) <= minlength:
        return name
    chars = list(name)
    for pattern in (r"[aeiou]", r"[a-z]"):
        i = len(chars) - 1
        while len(chars) > minlength and i > 0:
            if re.fullmatch(pattern, chars[i]):
                del chars[i]
            i -= 1
    return "".join(chars[: max(minlength, 0)] if len(chars) > minlength else chars)


def table(rows: list[list[str]], header: list[str], align: list[str]) -> list[str]:
    """Lines of a plain-text table; `align` holds ``"<"`` or ``">"`` per column."""
    columns = list(zip(header, *rows)) if rows else [(h,) for h in header]
    widths = [max(len(c) for c in col) for col in columns]
    lines = []
    for cells in [header, *rows]:
        parts = [
            cell.ljust(w) if a == "<" else cell.rjust(w) for cell, w, a in zip(cells, widths, align)
        ]
        lines.append(" ".join(parts).rstrip())
    return lines


SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
_MACHINE_EPS = 2.220446049250313e-16


def format_pvalue(p: float, digits: int = 3) -> str:
    """R's ``format.pval``: ``< 2e-16`` below machine precision, else `digits` significant."""
    if math.isnan(p):
        return "NA"
    if p < _MACHINE_EPS:
        return "< 2e-16"
    text = f"{p:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{exponent[0]}{exponent[1:].zfill(2)}"
    return text


def significance_stars(p: float) -> str:
    """R's significance codes."""
    for bound, star in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < bound:
            return star
    return ""


def coefmat(fe: pd.DataFrame) -> list[str]:
    """R's ``printCoefmat`` for a table with columns Estimate, Std. Error, [df,] t value,
    [Pr(>|t|)]: estimates and SEs rounded together, statistics to 3 decimals, stars."""
    coef_se = fe[["Estimate", "Std. Error"]].to_numpy(dtype=float)
    nonzero = np.abs(coef_se[coef_se != 0])
    smallest = float(nonzero.min()) if nonzero.size else 1.0
    decimals = max(1, DIGITS - (1 + math.floor(math.log10(smallest))))
    both = format_numbers(np.round(coef_se, decimals).ravel(), DIGITS)
    columns = {"": [str(n) for n in fe.index], "Estimate": both[0::2], "Std. Error": both[1::2]}
    if "df" in fe:
        columns["df"] = format_fixed(fe["df"].to_numpy(), 3)
    columns["t value"] = format_numbers(np.round(fe["t value"].to_numpy(), DIGITS - 1), DIGITS)
    if "Pr(>|t|)" not in fe:
        return table([list(r) for r in zip(*columns.values())], list(columns), ["<"] + [">"] * 3)
    columns["Pr(>|t|)"] = [format_pvalue(p) for p in fe["Pr(>|t|)"]]
    columns[" "] = [significance_stars(p) for p in fe["Pr(>|t|)"]]
    align = ["<"] + [">"] * (len(columns) - 2) + ["<"]
    rows = [list(r) for r in zip(*columns.values())]
    return [*table(rows, [*list(columns)[:-1], ""], align), "---", SIGNIF_LEGEND]

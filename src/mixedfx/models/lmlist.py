"""Separate regressions per group, lme4's ``lmList(y ~ x | g, data)``.

The article's second step: fitting each State on its own shows how much the groups differ,
and how noisy a fit on one group's few rows is.  Groups too small to fit are reported.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedfx.data.frame import as_pandas, check_columns
from mixedfx.data.random import grouping_factor
from mixedfx.distributions import t_ppf
from mixedfx.errors import DataError, FormulaError, MixedFxWarning
from mixedfx.formula import BarTerm
from mixedfx.formula.safe import check_formula
from mixedfx.messages import quote
from mixedfx.models.lm import LinearModel, lm


@dataclass(frozen=True)
class LmList:
    """One ordinary least-squares fit per level of a grouping column.

    Attributes
    ----------
    formula
        The per-group model, ``y ~ x``.
    group
        The grouping column.
    fits
        Level label → fit, in the factor's level order.
    skipped
        Level label → why that group could not be fitted.
    level
        Coverage of the confidence intervals in `coef_table`.
    """

    formula: str
    group: str
    fits: dict[str, LinearModel]
    skipped: dict[str, str]
    level: float = 0.95

    def coef_table(self) -> pd.DataFrame:
        """One row per group and coefficient: estimate, standard error, t-based interval."""
        rows = []
        for label, fit in self.fits.items():
            table = fit.coef_table()
            half = t_ppf(0.5 + self.level / 2, fit.df_resid) * table["std_error"]
            for term in table.index:
                rows.append(
                    {
                        "group": label,
                        "term": term,
                        "estimate": table.at[term, "estimate"],
                        "std_error": table.at[term, "std_error"],
                        "lower": table.at[term, "estimate"] - half[term],
                        "upper": table.at[term, "estimate"] + half[term],
                    }
                )
        return pd.DataFrame(rows)

    @property
    def coef(self) -> pd.DataFrame:
        """Groups × coefficients, as lme4's ``coef(lmList(...))``."""
        return pd.DataFrame({label: fit.coef for label, fit in self.fits.items()}).T


def lm_list(formula: str, data: pd.DataFrame, *, level: float = 0.95, safe: bool = False) -> LmList:
    """Fit ``y ~ x`` separately within each level of g, written ``"y ~ x | g"``.

    Parameters
    ----------
    formula
        ``"y ~ x | g"``.  Python code, as in `lm`: formulaic evaluates its expressions.
    data
        One row per observation; not modified.
    level
        Coverage of the confidence intervals in `LmList.coef_table`.
    safe
        Refuse, before evaluating anything, a formula outside the allow-list of
        `mixedfx.check_formula` (for formulas you did not write).

    Raises
    ------
    FormulaError
        Without a single top-level ``| group``; with ``safe=True``, a formula outside the
        allow-list.

    Warns
    -----
    MixedFxWarning
        Naming the groups that were too small (or degenerate) to fit.
    """
    model, group = _split(formula)
    data = as_pandas(data)
    if safe:
        check_formula(model, data.columns)
    check_columns(data, [group], "data")
    complete = data[data[group].notna()]
    factor = grouping_factor(BarTerm("1", (group,)), complete.reset_index(drop=True))
    fits: dict[str, LinearModel] = {}
    skipped: dict[str, str] = {}
    for code, label in enumerate(factor.levels):
        rows = complete.iloc[np.flatnonzero(factor.refs == code)].reset_index(drop=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", MixedFxWarning)
                fits[label] = lm(model, rows)
        except (DataError, MixedFxWarning) as exc:
            skipped[label] = str(exc).splitlines()[0]
    if skipped:
        warnings.warn(
            f"{len(skipped)} group(s) of {group!r} could not be fitted and are left out: "
            + "; ".join(f"{quote(k)}: {v}" for k, v in itertools.islice(skipped.items(), 10))
            + ("; …" if len(skipped) > 10 else ""),
            MixedFxWarning,
            stacklevel=2,
        )
    return LmList(model, group, fits, skipped, level)


def _split(formula: str) -> tuple[str, str]:
    depth = 0
    for i, ch in enumerate(formula):
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            model, group = formula[:i].strip(), formula[i + 1 :].strip()
            if "~" not in model or not group or "|" in group:
                break
            return model, group
    raise FormulaError(
        f"lm_list needs 'y ~ x | group' with one grouping column after '|', got {formula!r}"
    )

"""Exceptions and warnings raised by mixedfx.

Every error names the problem and the fix.  The hierarchy lets callers catch broadly
(`MixedFxError`) or narrowly (`FormulaError`, `DataError`, ...); the data errors also
derive from `ValueError` so code written against generic Python conventions still works.
"""

from __future__ import annotations

from mixedfx.messages import shorten

# a message quotes the user's input, which can be megabytes: the last guard on its length
MESSAGE_LIMIT = 2000
# the part of a long formula shown around the caret
FORMULA_WINDOW = 100


class MixedFxError(Exception):
    """Base class of every error mixedfx raises on purpose; its message is at most
    `MESSAGE_LIMIT` characters."""

    def __init__(self, message: str = "") -> None:
        super().__init__(shorten(message, MESSAGE_LIMIT))


class FormulaError(MixedFxError, ValueError):
    """The formula cannot be parsed or does not describe a model mixedfx can fit.

    Parameters
    ----------
    message
        What is wrong and how to fix it.
    formula
        The formula text, shown with a caret under `position` when both are given.
    position
        0-based index into `formula` where the problem was found.
    """

    def __init__(self, message: str, formula: str | None = None, position: int | None = None):
        self.formula = formula
        self.position = position
        if formula is not None and position is not None:
            shown, caret = _excerpt(formula, position)
            message = f"{shorten(message, MESSAGE_LIMIT // 2)}\n  {shown}\n  {' ' * caret}^"
        super().__init__(message)


def _excerpt(formula: str, position: int) -> tuple[str, int]:
    """`formula`, or in a long one the `FORMULA_WINDOW` characters around `position` marked
    with "…" where cut; and the caret's column in what is shown."""
    if len(formula) <= FORMULA_WINDOW:
        return formula, position
    start = max(0, min(position - FORMULA_WINDOW // 2, len(formula) - FORMULA_WINDOW))
    stop = start + FORMULA_WINDOW
    lead = "…" if start > 0 else ""
    tail = "…" if stop < len(formula) else ""
    return f"{lead}{formula[start:stop]}{tail}", position - start + len(lead)


class DataError(MixedFxError, ValueError):
    """The data do not fit the formula: missing columns, wrong types, too few rows or levels."""


class UnknownColumnError(DataError, KeyError):
    """The formula names a column the data frame does not have."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


class IdentifiabilityError(DataError):
    """The model has more random-effect parameters than the data can identify (lme4's checks)."""


class NewLevelError(DataError):
    """Prediction data hold a grouping level the model has not seen."""


class UnsupportedError(MixedFxError, NotImplementedError):
    """The method is not available for this kind of model (yet); the message names what is."""


class MixedFxWarning(UserWarning):
    """Base class of mixedfx's warnings."""


class SingularFitWarning(MixedFxWarning):
    """The optimum lies on the boundary: some variance is zero or a correlation is ±1."""


class ConvergenceWarning(MixedFxWarning):
    """The optimizer stopped without meeting its convergence criteria."""


class RankDeficiencyWarning(MixedFxWarning):
    """Fixed-effect columns were dropped because they are linear combinations of others."""


class MissingValuesWarning(MixedFxWarning):
    """Rows with missing values were removed before fitting."""


class WeightsWarning(MixedFxWarning):
    """Prior weights were left out of a computation, or rows of weight 0 out of the fit."""


class ZeroWeightsWarning(WeightsWarning):
    """Rows of prior weight 0 were left out of the fit."""


class InterruptedBootstrapWarning(MixedFxWarning):
    """A bootstrap was interrupted (Ctrl-C): its results use only the replicates completed."""


class ExactFitWarning(MixedFxWarning):
    """The residuals of a linear model are zero: its tests are degenerate (R's "essentially
    perfect fit")."""


class PredictorScaleWarning(MixedFxWarning):
    """Predictors are on very different scales (lme4's ``check.scaleX``): consider rescaling."""


class IdentifiabilityWarning(MixedFxWarning):
    """Some variance parameters cannot be told apart: only a combination of them is estimated."""


class RefitWarning(MixedFxWarning):
    """Models were refitted before comparing them (REML fits by ML, as lme4's ``anova``)."""


class ComparabilityWarning(MixedFxWarning):
    """A table sets side by side quantities that are not comparable (REML beside ML or OLS)."""


class ProfileWarning(MixedFxWarning):
    """A likelihood profile is unreliable for a parameter: ζ is not monotone, an interval end
    was not found (it is NaN), or an optimization over the other parameters did not converge
    (lme4's "non-monotonic profile")."""

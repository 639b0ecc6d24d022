"""Exceptions and warnings raised by mixedfx.

Every error names the problem and the fix.  The hierarchy lets callers catch broadly
(`MixedFxError`) or narrowly (`FormulaError`, `DataError`, ...); the data errors also
derive from `ValueError` so code written against generic Python conventions still works.
"""

from __future__ import annotations


class MixedFxError(Exception):
    """Base class of every error mixedfx raises on purpose."""


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
            message = f"{message}\n  {formula}\n  {' ' * position}^"
        super().__init__(message)


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


class ProfileWarning(MixedFxWarning):
    """A likelihood profile is unreliable for a parameter: ζ is not monotone, an interval end
    was not found (it is NaN), or an optimization over the other parameters did not converge
    (lme4's "non-monotonic profile")."""

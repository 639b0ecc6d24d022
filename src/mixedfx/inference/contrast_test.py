"""The result of testing one linear hypothesis Lβ = 0."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContrastTest:
    """The F test of one hypothesis Lβ = 0.

    Attributes
    ----------
    num_df, den_df
        Numerator df (the rank of L) and denominator df (inf for a Wald χ² test).
    f_value, p_value
        The statistic and its upper-tail probability.
    """

    num_df: int
    den_df: float
    f_value: float
    p_value: float

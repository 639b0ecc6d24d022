"""Stage 3 of the pipeline, design: y, X and the random-effects terms from a model frame."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise

import numpy as np

from mixedfx.data.fixed import FixedDesign, fingerprint, fixed_design, response_vector
from mixedfx.data.frame import ModelFrame
from mixedfx.data.offset import Offset, offset
from mixedfx.data.random import GroupingFactor, RandomTerm, check_term, random_term
from mixedfx.errors import DataError
from mixedfx.formula import MixedFormula

__all__ = [
    "Design",
    "FixedDesign",
    "GroupingFactor",
    "Offset",
    "RandomTerm",
    "build_design",
    "lme4_term_order",
]


@dataclass(frozen=True)
class Design:
    """Everything the cross-product stage needs, and the encodings for new data.

    Attributes
    ----------
    y
        Shape (n,): the response.
    fixed
        X (n × p) and its encoding.
    offset
        The known part of the linear predictor (zeros without ``offset()`` terms).
    terms
        The random-effects terms in lme4's order (`lme4_term_order`): the first has the most
        levels, so that the first diagonal block of the factor is the biggest and block
        diagonal.
    weights
        Shape (n,): prior weights w, all > 0 (row i's residual variance is σ²/wᵢ); None for
        unit weights.
    response_digest
        `fingerprint` of y (and of the weights), taken with the rows so that comparisons never
        need them again.
    """

    y: np.ndarray
    fixed: FixedDesign
    offset: Offset
    terms: tuple[RandomTerm, ...]
    weights: np.ndarray | None = None
    response_digest: str = field(init=False, repr=False)

    @cached_property
    def y_minus_offset(self) -> np.ndarray:
        """Shape (n,): y − offset, the part of the response that Xβ + Zb models (the response
        itself without an offset)."""
        if not self.offset.present:
            return self.y
        out = self.y - self.offset.values
        read_only(out)
        return out

    @cached_property
    def sqrt_weights(self) -> np.ndarray | None:
        """Shape (n,): √w, the factor each row of [Z X y] is scaled by; None for unit weights."""
        if self.weights is None:
            return None
        out = np.sqrt(self.weights)
        read_only(out)
        return out

    @property
    def log_weights(self) -> float:
        """Σ log wᵢ: the weighted rows' density differs from y's by this log-Jacobian."""
        return 0.0 if self.weights is None else float(np.log(self.weights).sum())

    @property
    def weighted_response(self) -> np.ndarray:
        """Shape (n,): √w (y − offset), the response column of the cross-products."""
        if self.sqrt_weights is None:
            return self.y_minus_offset
        return self.sqrt_weights * self.y_minus_offset

    @property
    def n(self) -> int:
        return self.y.shape[0]

    @property
    def p(self) -> int:
        return self.fixed.X.shape[1]

    def __post_init__(self) -> None:
        data = self.y if self.weights is None else np.concatenate([self.y, self.weights])
        object.__setattr__(self, "response_digest", fingerprint(data))

    def take(self, rows: np.ndarray) -> Design:
        """The same model on some of its rows: the encodings, levels and columns unchanged,
        so the cross-products of the parts (a stratum of rows, a chunk) add up to the
        whole's.

        Parameters
        ----------
        rows
            Row indices (or a boolean mask of shape (n,)).
        """
        fixed = replace(self.fixed, X=self.fixed.X[rows])
        known = replace(self.offset, values=self.offset.values[rows])
        terms = tuple(
            replace(
                t,
                factor=replace(t.factor, refs=t.factor.refs[rows]),
                columns=replace(t.columns, matrix=t.columns.matrix[rows]),
            )
            for t in self.terms
        )
        weights = None if self.weights is None else self.weights[rows]
        return replace(
            self, y=self.y[rows], fixed=fixed, offset=known, terms=terms, weights=weights
        )

    def linear_predictor(self, beta: np.ndarray, b: list[np.ndarray] | None) -> np.ndarray:
        """Xβ + Zb + offset over the rows, shape (n,); without Zb when `b` is None.

        Parameters
        ----------
        beta
            Shape (p,).
        b
            Per term (model order), shape (ℓ_j, k_j): random effects.
        """
        out = self.fixed.X @ beta + self.offset.values
        for term, b_term in zip(self.terms, b or []):
            out += np.einsum("ik,ik->i", term.z, b_term[term.factor.refs])
        return out


def build_design(formula: MixedFormula, frame: ModelFrame) -> Design:
    """Encode y, X and every bar term of `formula` on `frame`; run lme4's data checks.

    Raises
    ------
    DataError
        No random-effects term, too few observations, or a failing term check.
    """
    if not formula.random:
        raise DataError(
            "the formula has no random-effects term such as (1 | group); "
            "for a model without random effects use ordinary least squares"
        )
    y = response_vector(formula.response_term, frame.data)
    fixed = fixed_design(formula.fixed, frame.data)
    known = offset(formula, frame.data, frame.offset)
    terms = [random_term(bar, frame.data) for bar in formula.random]
    for term in terms:
        check_term(term, frame.nobs)
    if frame.nobs <= fixed.X.shape[1]:
        raise DataError(
            f"{frame.nobs} observations cannot estimate {fixed.X.shape[1]} fixed effects "
            "and the variance components; use more data or fewer predictors"
        )
    order = lme4_term_order([t.nlevels for t in terms])
    weights = frame.weights
    arrays = (y, fixed.X, known.values, *(t.z for t in terms), *(t.factor.refs for t in terms))
    read_only(*arrays, *(() if weights is None else (weights,)))
    return Design(y, fixed, known, tuple(terms[i] for i in order), weights)


def lme4_term_order(nlevels: list[int]) -> list[int]:
    """The positions of the terms in lme4's order (``mkReTrms``): as written when the numbers
    of levels never increase, else ``rev(order(nlevels))``, by decreasing number of levels with
    ties in reverse order of writing.  θ, VarCorr and ranef follow this order, so matching it
    makes them line up with lme4's output element by element."""
    if all(later <= earlier for earlier, later in pairwise(nlevels)):
        return list(range(len(nlevels)))
    ascending = sorted(range(len(nlevels)), key=lambda i: nlevels[i])  # stable, as R's order
    return ascending[::-1]


def read_only(*arrays: np.ndarray) -> None:
    """Mark arrays read-only: a fit's data must not change under the results computed from it."""
    for array in arrays:
        array.setflags(write=False)

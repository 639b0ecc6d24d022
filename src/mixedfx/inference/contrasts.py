"""Contrast matrices that test each fixed-effect term: types I, II and III (lmerTest's).

Each function returns, per model term, a matrix L (rows × p) whose rows span the hypothesis
"this term has no effect" in the stated sense; the F test does not depend on which basis.

* Type I (sequential): rows of the Cholesky factor R of XᵀX (XᵀX = RᵀR) for the term's
  columns: each term adjusted for the terms before it.
* Type II (lmerTest's): a term no other term contains is tested on its own coefficients; a
  contained term after the terms unrelated to it, with it and its containing terms last.
  Containment is SAS's: same continuous variables, more factors, all of the inner's factors.
* Type III (SAS): from the over-parameterized dummy coding, with each term's contrasts made
  orthogonal to those of the terms that contain it (lmerTest's ``extract_contrasts_type3``),
  so the hypotheses do not depend on the contrast coding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import model_matrix

from mixedfx.data.names import r_name
from mixedfx.formula.rsyntax import R_FUNCTIONS
from mixedfx.models.lmm import LinearMixedModel


@dataclass(frozen=True)
class Term:
    """A fixed-effects term: its name, its factors and continuous variables, its columns in X."""

    name: str
    factors: frozenset[str]
    continuous: frozenset[str]
    columns: tuple[int, ...]


def model_terms(fit: LinearMixedModel) -> list[Term]:
    """The terms of the fixed part other than the intercept, with their kept columns of X."""
    keep = {j: i for i, j in enumerate(fit.design.fixed.keep)}
    data = fit.frame.data
    terms = []
    for term, indices in fit.design.fixed.spec.term_indices.items():
        name = str(term)
        columns = tuple(keep[j] for j in indices if j in keep)
        if name != "1" and columns:
            parts = [str(f) for f in term.factors]
            factors = frozenset(v for v in parts if _is_factor(v, data))
            terms.append(Term(r_name(name), factors, frozenset(parts) - factors, columns))
    return terms


def _is_factor(expression: str, data: pd.DataFrame) -> bool:
    if expression.startswith(("C(", "factor(")):
        return True
    return expression in data.columns and not pd.api.types.is_numeric_dtype(data[expression])


def contains(outer: Term, inner: Term) -> bool:
    """SAS's containment (lmerTest's ``term_contain``): `outer` has the same continuous
    variables as `inner`, more factors, and all of `inner`'s factors."""
    return (
        outer.continuous == inner.continuous
        and len(outer.factors) > len(inner.factors)
        and inner.factors <= outer.factors
    )


def type1(fit: LinearMixedModel) -> dict[str, np.ndarray]:
    X = fit.design.fixed.X
    R = np.linalg.cholesky(X.T @ X).T
    return {t.name: R[list(t.columns)] for t in model_terms(fit)}


def type2(fit: LinearMixedModel) -> dict[str, np.ndarray]:
    """lmerTest's type II: a term no other term contains is tested on its own coefficients;
    a contained term after the terms unrelated to it, with it and the terms containing it
    placed last (type I contrasts of the reordered columns)."""
    X = fit.design.fixed.X
    p = X.shape[1]
    terms = model_terms(fit)
    out = {}
    for t in terms:
        containing = [c for u in terms if contains(u, t) for c in u.columns]
        if not containing:
            out[t.name] = np.eye(p)[list(t.columns)]
            continue
        last = [*t.columns, *containing]
        order = [c for c in range(p) if c not in last] + last
        R = np.linalg.cholesky(X[:, order].T @ X[:, order]).T
        rows = R[[order.index(c) for c in t.columns]]
        L = np.zeros_like(rows)
        L[:, order] = rows  # back to X's column order
        out[t.name] = L
    return out


def type3(fit: LinearMixedModel) -> dict[str, np.ndarray]:
    X = fit.design.fixed.X
    full = model_matrix(
        fit.design.fixed.spec.formula, fit.frame.data, context=R_FUNCTIONS, ensure_full_rank=False
    )
    full_names = [r_name(str(c)) for c in full.columns]
    L = _zap(np.linalg.pinv(X) @ np.asarray(full, dtype=float)).T  # rows: full dummy columns
    terms = model_terms(fit)
    for t in sorted(terms, key=lambda u: -(len(u.factors) + len(u.continuous))):
        containing = [c for u in terms if contains(u, t) for c in u.columns]
        if containing:
            cols = list(t.columns)
            basis = L[:, containing]
            coef, *_ = np.linalg.lstsq(basis, L[:, cols], rcond=None)
            L[:, cols] = _zap(L[:, cols] - basis @ coef)
    rows = [full_names.index(name) for name in fit.fixef_names]
    L = L[rows]
    out = {}
    for t in terms:
        Lt = L[:, list(t.columns)].T
        out[t.name] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    return out


def _zap(a: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's zapsmall: entries tiny next to the largest become exact zeros."""
    largest = float(np.max(np.abs(a))) if a.size else 0.0
    if largest == 0:
        return a
    return np.round(a, max(0, digits - int(np.ceil(np.log10(largest)))))


CONTRASTS = {1: type1, 2: type2, 3: type3}


def term_contrasts(fit: LinearMixedModel, kind: int) -> dict[str, np.ndarray]:
    """Contrast matrices of type `kind` (1, 2 or 3) for every fixed-effects term."""
    if kind not in CONTRASTS:
        raise ValueError(f"type must be 1, 2 or 3, got {kind!r}")
    return CONTRASTS[kind](fit)

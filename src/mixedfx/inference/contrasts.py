"""Contrast matrices that test each fixed-effect term: types I, II and III (lmerTest's).

Each function returns, per model term, a matrix L (rows × p) whose rows span the hypothesis
"this term has no effect" in the stated sense; the F test does not depend on which basis.

* Type I (sequential): rows of the Cholesky factor R of XᵀX (XᵀX = RᵀR) for the term's
  columns: each term adjusted for the terms before it.
* Type II: each term adjusted for every term that does not contain it,
  L = X₂ᵀ (I − P₁) X, X₂ the term's columns, P₁ the projection on the others.
* Type III (SAS): from the over-parameterized dummy coding, with each term's contrasts made
  orthogonal to those of the terms that contain it (lmerTest's ``extract_contrasts_type3``),
  so the hypotheses do not depend on the contrast coding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from formulaic import model_matrix

from mixedfx.design.names import r_name
from mixedfx.formula.rsyntax import R_FUNCTIONS
from mixedfx.lmm import LinearMixedModel


@dataclass(frozen=True)
class Term:
    """A fixed-effects term: its name, the variables it involves, and its columns in X."""

    name: str
    variables: frozenset[str]
    columns: tuple[int, ...]


def model_terms(fit: LinearMixedModel) -> list[Term]:
    """The terms of the fixed part other than the intercept, with their kept columns of X."""
    keep = {j: i for i, j in enumerate(fit.design.fixed.keep)}
    terms = []
    for term, indices in fit.design.fixed.spec.term_indices.items():
        name = str(term)
        columns = tuple(keep[j] for j in indices if j in keep)
        if name != "1" and columns:
            variables = frozenset(str(f) for f in term.factors)
            terms.append(Term(r_name(name), variables, columns))
    return terms


def contains(outer: Term, inner: Term) -> bool:
    """True when `outer` is a higher-order term built on all of `inner`'s variables."""
    return inner.variables < outer.variables


def type1(fit: LinearMixedModel) -> dict[str, np.ndarray]:
    X = fit.design.fixed.X
    R = np.linalg.cholesky(X.T @ X).T
    return {t.name: R[list(t.columns)] for t in model_terms(fit)}


def type2(fit: LinearMixedModel) -> dict[str, np.ndarray]:
    X = fit.design.fixed.X
    terms = model_terms(fit)
    in_terms = {c for t in terms for c in t.columns}
    out = {}
    for t in terms:
        others = [c for c in range(X.shape[1]) if c not in in_terms]  # the intercept
        others += [c for u in terms if u != t and not contains(u, t) for c in u.columns]
        X1, X2 = X[:, others], X[:, list(t.columns)]
        coef, *_ = np.linalg.lstsq(X1, X2, rcond=None) if others else (np.zeros((0, 0)),)
        resid = X2 - X1 @ coef if others else X2
        out[t.name] = _independent_rows(resid.T @ X)
    return out


def type3(fit: LinearMixedModel) -> dict[str, np.ndarray]:
    X = fit.design.fixed.X
    full = model_matrix(
        fit.design.fixed.spec.formula, fit.frame.data, context=R_FUNCTIONS, ensure_full_rank=False
    )
    full_names = [r_name(str(c)) for c in full.columns]
    L = _zap(np.linalg.pinv(X) @ np.asarray(full, dtype=float)).T  # rows: full dummy columns
    terms = model_terms(fit)
    for t in sorted(terms, key=lambda u: -len(u.variables)):
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


def _independent_rows(L: np.ndarray) -> np.ndarray:
    """A basis of L's row space (rank-revealing QR), so the F test has its proper df."""
    _, s, Vt = np.linalg.svd(L, full_matrices=False)
    rank = int(np.sum(s > 1e-10 * (s[0] if s.size else 0)))
    return Vt[:rank]


CONTRASTS = {1: type1, 2: type2, 3: type3}


def term_contrasts(fit: LinearMixedModel, kind: int) -> dict[str, np.ndarray]:
    """Contrast matrices of type `kind` (1, 2 or 3) for every fixed-effects term."""
    if kind not in CONTRASTS:
        raise ValueError(f"type must be 1, 2 or 3, got {kind!r}")
    return CONTRASTS[kind](fit)

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

import numpy as np

from mixedfx.errors import FormulaError
from mixedfx.inference.protocol import FixedTerm, MixedFit


def contains(outer: FixedTerm, inner: FixedTerm) -> bool:
    """SAS's containment (lmerTest's ``term_contain``): `outer` has the same continuous
    variables as `inner`, more factors, and all of `inner`'s factors."""
    return (
        outer.continuous == inner.continuous
        and len(outer.factors) > len(inner.factors)
        and inner.factors <= outer.factors
    )


def type1(fit: MixedFit) -> dict[str, np.ndarray]:
    R = np.linalg.cholesky(fit.A.XtX).T
    return {t.name: R[list(t.columns)] for t in fit.fixed_terms()}


def type2(fit: MixedFit) -> dict[str, np.ndarray]:
    """lmerTest's type II: a term no other term contains is tested on its own coefficients;
    a contained term after the terms unrelated to it, with it and the terms containing it
    placed last (type I contrasts of the reordered columns)."""
    XtX = fit.A.XtX
    p = XtX.shape[0]
    terms = fit.fixed_terms()
    out = {}
    for t in terms:
        containing = [c for u in terms if contains(u, t) for c in u.columns]
        if not containing:
            out[t.name] = np.eye(p)[list(t.columns)]
            continue
        last = [*t.columns, *containing]
        order = [c for c in range(p) if c not in last] + last
        R = np.linalg.cholesky(XtX[np.ix_(order, order)]).T
        rows = R[[order.index(c) for c in t.columns]]
        L = np.zeros_like(rows)
        L[:, order] = rows  # back to X's column order
        out[t.name] = L
    return out


def type3(fit: MixedFit) -> dict[str, np.ndarray]:
    """SAS's type III from the full dummy coding X_full = X E (E from the encodings): X has
    full column rank, so X_full's coefficients on X are X⁺X_full = E, and L starts as Eᵀ."""
    E, full_names = fit.full_coding()
    L = _zap(E).T  # rows: full dummy columns
    terms = fit.fixed_terms()
    for t in sorted(terms, key=lambda u: -(len(u.factors) + len(u.continuous))):
        containing = [c for u in terms if contains(u, t) for c in u.columns]
        if containing:
            cols = list(t.columns)
            basis = L[:, containing]
            coef, *_ = np.linalg.lstsq(basis, L[:, cols], rcond=None)
            L[:, cols] = _zap(L[:, cols] - basis @ coef)
    missing = [name for name in fit.fixef_names if name not in full_names]
    if missing:
        raise FormulaError(
            f"type III contrasts need each column of X in the full dummy coding, and "
            f"{missing} is not (an interaction without its main effects is coded "
            "differently); use type=1 or type=2, or add the main effects"
        )
    L = L[[full_names.index(name) for name in fit.fixef_names]]
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


def term_contrasts(fit: MixedFit, kind: int) -> dict[str, np.ndarray]:
    """Contrast matrices of type `kind` (1, 2 or 3) for every fixed-effects term."""
    if kind not in CONTRASTS:
        raise ValueError(f"type must be 1, 2 or 3, got {kind!r}")
    return CONTRASTS[kind](fit)

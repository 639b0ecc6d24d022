"""Kenward–Roger: the adjusted covariance of β̂ and the denominator df of t and F tests.

Kenward & Roger (1997, Biometrics 53); Halekoh & Højsgaard (2014, JSS 59(9)), whose
pbkrtest computes, for covariance parameters τ with V = Σ τ_i G_i (each term's variances
and covariances, and the residual variance, G = I),

    Φ = (XᵀV⁻¹X)⁻¹,  P_i = −XᵀV⁻¹G_iV⁻¹X,  Q_ij = XᵀV⁻¹G_iV⁻¹G_jV⁻¹X,
    I_ij = tr(V⁻¹G_iV⁻¹G_j) − 2 tr(Φ Q_ij) + tr(Φ P_i Φ P_j),   W = 2 I⁻¹,
    Φ_A = Φ + 2 Φ [Σ_ij W_ij (Q_ij − P_i Φ P_j)] Φ.

pbkrtest forms the n × n matrix V.  Here V⁻¹ is applied through the Woodbury identity,
V⁻¹ = σ⁻² (I − ZΛ Ω⁻¹ ΛᵀZᵀ) with Ω = ΛᵀZᵀZΛ + I, and every trace is taken in the
q-dimensional random-effects space, so the cost is O(n (p + q)²) instead of O(n³).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import stats
from scipy.linalg import block_diag, cho_factor, cho_solve

from mixedfx.crossprod.products import term_matrix
from mixedfx.inference.contrast_test import ContrastTest
from mixedfx.models.lmm import LinearMixedModel


@dataclass(frozen=True)
class Woodbury:
    """V⁻¹ applied without forming V, and the products with X and Z the formulas need."""

    X: np.ndarray
    Z: np.ndarray
    ZL: np.ndarray
    omega: tuple[np.ndarray, bool]
    sigma2: float

    @classmethod
    def of(cls, fit: LinearMixedModel) -> Woodbury:
        terms = fit.design.terms
        Z = np.hstack([term_matrix(t).toarray() for t in terms])
        templates = fit.layout.templates(fit.theta)
        Lam = block_diag(*[np.kron(np.eye(t.nlevels), T) for t, T in zip(terms, templates)])
        ZL = Z @ Lam
        omega = cho_factor(ZL.T @ ZL + np.eye(ZL.shape[1]))
        return cls(fit.design.fixed.X, Z, ZL, omega, fit.sigma**2)

    def apply(self, A: np.ndarray) -> np.ndarray:
        """V⁻¹ A for A of shape (n, m)."""
        return (A - self.ZL @ cho_solve(self.omega, self.ZL.T @ A)) / self.sigma2

    @cached_property
    def MX(self) -> np.ndarray:
        return self.apply(self.X)

    @cached_property
    def MZ(self) -> np.ndarray:
        return self.apply(self.Z)

    @cached_property
    def trace_M2(self) -> float:
        """tr(V⁻²) = σ⁻⁴ (n − 2 tr K + tr K²), K = ZΛ Ω⁻¹ ΛᵀZᵀ, in q dimensions."""
        C = self.ZL.T @ self.ZL
        OinvC = cho_solve(self.omega, C)
        n = self.X.shape[0]
        return float(n - 2 * np.trace(OinvC) + np.sum(OinvC * OinvC.T)) / self.sigma2**2


class RandomParameter:
    """A variance or covariance of one term: G = Z D Zᵀ, D of shape (q, q)."""

    def __init__(self, D: np.ndarray):
        self.D = D

    def GMX(self, w: Woodbury) -> np.ndarray:
        """G V⁻¹ X, shape (n, p)."""
        return w.Z @ (self.D @ (w.Z.T @ w.MX))

    def trace(self, other: RandomParameter | ResidualParameter, w: Woodbury) -> float:
        """tr(V⁻¹ G V⁻¹ G_other)."""
        S = w.Z.T @ w.MZ
        if isinstance(other, RandomParameter):
            return float(np.sum((S @ self.D) * (S @ other.D).T))
        return float(np.sum((w.MZ.T @ w.MZ) * self.D))


class ResidualParameter:
    """The residual variance: G = I."""

    def GMX(self, w: Woodbury) -> np.ndarray:
        return w.MX

    def trace(self, other: RandomParameter | ResidualParameter, w: Woodbury) -> float:
        if isinstance(other, RandomParameter):
            return other.trace(self, w)
        return w.trace_M2


def parameters(fit: LinearMixedModel) -> list[RandomParameter | ResidualParameter]:
    """One parameter per variance and covariance of each term, then the residual."""
    out: list[RandomParameter | ResidualParameter] = []
    q = sum(t.q for t in fit.design.terms)
    start = 0
    for term in fit.design.terms:
        k, ell = term.k, term.nlevels
        for a in range(k):
            for b in range(a + 1):
                E = np.zeros((k, k))
                E[a, b] = E[b, a] = 1.0
                D = np.zeros((q, q))
                D[start : start + ell * k, start : start + ell * k] = np.kron(np.eye(ell), E)
                out.append(RandomParameter(D))
        start += ell * k
    out.append(ResidualParameter())
    return out


@dataclass(frozen=True)
class KenwardRoger:
    """Φ, the P_i, W and the adjusted covariance Φ_A of one fit."""

    Phi: np.ndarray
    P: list[np.ndarray]
    W: np.ndarray
    PhiA: np.ndarray


def compute_kenward_roger(fit: LinearMixedModel) -> KenwardRoger:
    """Φ, P_i, W and Φ_A from the Woodbury products (see the module notes)."""
    if not fit.reml:
        raise ValueError(
            "Kenward-Roger needs a REML fit (as pbkrtest and lmerTest); refit with reml=True"
        )
    w = Woodbury.of(fit)
    params = parameters(fit)
    R = [p.GMX(w) for p in params]
    Phi = np.linalg.inv(w.X.T @ w.MX)
    P = [-(w.MX.T @ r) for r in R]
    MR = [w.apply(r) for r in R]
    m = len(params)
    Q = [[R[i].T @ MR[j] for j in range(m)] for i in range(m)]
    info = np.empty((m, m))
    for i in range(m):
        for j in range(i + 1):
            info[i, j] = info[j, i] = (
                params[i].trace(params[j], w)
                - 2 * np.sum(Phi * Q[i][j])
                + np.sum((Phi @ P[i]) * (P[j] @ Phi))
            )
    W = 2 * np.linalg.pinv(info)
    U = sum(W[i, j] * (Q[i][j] - P[i] @ Phi @ P[j]) for i in range(m) for j in range(m))
    PhiA = Phi + 2 * Phi @ U @ Phi
    return KenwardRoger(Phi, P, W, (PhiA + PhiA.T) / 2)


def kenward_roger_vcov(fit: LinearMixedModel) -> np.ndarray:
    """The adjusted covariance matrix Φ_A of β̂ (p × p)."""
    return fit.kenward_roger.PhiA


def kenward_roger_df(kr: KenwardRoger, L: np.ndarray) -> tuple[float, float]:
    """Denominator df and F scaling λ for the hypothesis Lβ = 0 (pbkrtest's ``Lb_ddf``)."""
    Phi, q = kr.Phi, np.linalg.matrix_rank(L)
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    u = [Theta @ Phi @ P @ Phi for P in kr.P]
    m = len(u)
    A1 = sum(kr.W[i, j] * np.trace(u[i]) * np.trace(u[j]) for i in range(m) for j in range(m))
    A2 = sum(kr.W[i, j] * np.sum(u[i] * u[j].T) for i in range(m) for j in range(m))
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1 = g / (3 * q + 2 * (1 - g))
    c2 = (q - g) / (3 * q + 2 * (1 - g))
    c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
    V0 = 1 + c1 * B
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    V1, V2 = 1 - c2 * B, 1 - c3 * B
    rho = ((1 - A2 / q) / V1) ** 2 * V0 / V2 / q if V1 != 0 else np.inf
    df = 4 + (q + 2) / (q * rho - 1)
    scale = 1.0 if abs(df - 4) < 1e-2 else df * (1 - A2 / q) / (df - 2)
    return float(df), float(scale)


def kenward_roger_test(fit: LinearMixedModel, L: np.ndarray) -> ContrastTest:
    """The Kenward–Roger F test of Lβ = 0 (pbkrtest's ``KRmodcomp``)."""
    kr = fit.kenward_roger
    q = int(np.linalg.matrix_rank(L))
    df, scale = kenward_roger_df(kr, L)
    Lb = L @ fit.fixef.to_numpy()
    wald = float(Lb @ np.linalg.solve(L @ kr.PhiA @ L.T, Lb))
    f_value = scale * wald / q
    return ContrastTest(q, df, f_value, float(stats.f.sf(f_value, q, df)))

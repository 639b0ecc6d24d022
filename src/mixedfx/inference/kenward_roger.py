"""Kenward–Roger: the adjusted covariance of β̂ and the denominator df of t and F tests.

Kenward & Roger (1997, Biometrics 53); Halekoh & Højsgaard (2014, JSS 59(9)), whose
pbkrtest computes, for covariance parameters τ with V = Σ τ_i G_i (each term's variances
and covariances, and the residual variance, G = I),

    Φ = (XᵀV⁻¹X)⁻¹,  P_i = −XᵀV⁻¹G_iV⁻¹X,  Q_ij = XᵀV⁻¹G_iV⁻¹G_jV⁻¹X,
    I_ij = tr(V⁻¹G_iV⁻¹G_j) − 2 tr(Φ Q_ij) + tr(Φ P_i Φ P_j),   Ω = 2 I⁻¹,
    Φ_A = Φ + 2 Φ [Σ_ij Ω_ij (Q_ij − P_i Φ P_j)] Φ.

pbkrtest forms the n × n matrix V.  Here everything is a product of Zᵀ Ṽ⁻¹ Z = S̃,
Zᵀ Ṽ⁻¹ X = F and Xᵀ Ṽ⁻¹ X = C (V = σ² Ṽ; `mixedfx.pls.marginal`, from A and the blocked
factor).  For a random-effects parameter G_i = Z D_i Zᵀ, D_i = I ⊗ E_i on its term's columns
(E_i the k × k indicator of one variance or covariance), and

    P_i = −σ⁻⁴ Fᵀ D_i F,   Q_ij = σ⁻⁶ (D_i F)ᵀ S̃ (D_j F),   tr(V⁻¹G_iV⁻¹G_j) = σ⁻⁴ tr(S̃ D_i S̃ D_j).

The residual's quantities follow from Σ_i τ_i G_i = V (the residual's τ = σ², G = I):
contracting with τ gives Σ_j τ_j P_j = −Φ⁻¹, Σ_j τ_j Q_ij = −P_i, Σ_j τ_j tr(V⁻¹G_iV⁻¹G_j)
= tr(V⁻¹G_i) = σ⁻² ⟨S̃, D_i⟩ and tr(V⁻¹) = σ⁻² (n − Σ_i c_i ⟨S̃, D_i⟩), c_i = τ_i / σ², each
solved for the residual's entry.

With S̃ = P̂ − K̂ᵀK̂ (P̂ block structured, K̂ of q_rest rows), tr(S̃ D_i S̃ D_j) =
tr(P̂D_iP̂D_j) − 2 tr(K̂D_iP̂D_jK̂ᵀ) + ⟨K̂D_iK̂ᵀ, K̂D_jK̂ᵀ⟩: the first term's block of P̂ is block
diagonal, so the work is O(q_rest² q) and the memory O(q_rest q), never n or q².

Prior weights: pbkrtest (and lmerTest, which calls it) builds V = ZGZᵀ + σ²I from the
unweighted rows, leaving the weights out, while Φ is lme4's weighted ``vcov(m)``.  To give
their numbers, V is built here from the fit's unweighted cross-products (`MixedFit.unweighted_A`);
for a weighted fit the result is pbkrtest's, not a Kenward–Roger adjustment of the weighted
model (with equal weights c it changes with c).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mixedfx.distributions import f_sf
from mixedfx.inference.contrast_test import ContrastTest
from mixedfx.inference.protocol import AdjustedCovariance, MixedFit, require_one_residual_sd
from mixedfx.pls.criterion import REML
from mixedfx.pls.marginal import MarginalProducts, term_blocks

# pbkrtest inverts the information with `solve` when its smallest absolute eigenvalue is
# above this, else with MASS's `ginv` (singular values below √ε times the largest dropped).
SINGULAR_INFORMATION = 1e-10
GINV_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class RandomParameter:
    """One variance or covariance of a term: G = Z D Zᵀ, D = I ⊗ E on the term's columns.

    Attributes
    ----------
    term
        The term's index, model order.
    E
        Shape (k, k), symmetric: 1 at (a, b) and (b, a).
    value
        c = τ / σ², the entry (a, b) of T Tᵀ.
    unit
        The natural size of c: the product of rows a's and b's natural θ units.
    """

    term: int
    E: np.ndarray
    value: float
    unit: float


def random_parameters(fit: MixedFit) -> list[RandomParameter]:
    """Each term's variances and covariances (lower triangle, row by row), model order."""
    layout = fit.layout
    theta_units = np.split(fit.deviance_function().scale(fit.theta), layout.offsets[1:-1])
    out = []
    for j, T in enumerate(layout.templates(fit.theta)):
        rows, cols = layout.positions[j]
        row_units = theta_units[j][rows == cols]  # the diagonal entries, row by row
        relative = T @ T.T
        for a in range(T.shape[0]):
            for b in range(a + 1):
                E = np.zeros_like(T)
                E[a, b] = E[b, a] = 1.0
                out.append(RandomParameter(j, E, relative[a, b], row_units[a] * row_units[b]))
    return out


@dataclass(frozen=True)
class RandomQuantities:
    """The module notes' quantities for the random parameters, without their powers of σ.

    For random parameters i, j: p_i = −Fᵀ D_i F, q_ij = (D_i F)ᵀ S̃ (D_j F),
    t_ij = tr(S̃ D_i S̃ D_j) and d_i = ⟨S̃, D_i⟩.
    """

    marginal: MarginalProducts
    params: list[RandomParameter]

    @cached_property
    def _selected(self) -> np.ndarray:
        """D_i F for every parameter side by side, shape (q, m p)."""
        F, structure = self.marginal.zx, self.marginal.structure
        out = np.zeros((F.shape[0], len(self.params), F.shape[1]))
        for i, param in enumerate(self.params):
            blocks = term_blocks(F, structure, param.term)
            out[structure.slices[param.term], i] = (param.E @ blocks).reshape(-1, F.shape[1])
        return out.reshape(F.shape[0], -1)

    @cached_property
    def p(self) -> np.ndarray:
        """Shape (m, p, p)."""
        F = self.marginal.zx
        return -(self._selected.T @ F).reshape(len(self.params), -1, F.shape[1])

    @cached_property
    def q(self) -> np.ndarray:
        """Shape (m, m, p, p): one pass over S̃ for all parameters."""
        DF = self._selected
        m = len(self.params)
        products = (DF.T @ self.marginal.zz_product(DF)).reshape(m, -1, m, DF.shape[1] // m)
        return products.swapaxes(1, 2)

    @cached_property
    def d(self) -> np.ndarray:
        """Shape (m,)."""
        out = []
        for param in self.params:
            Kg = self._k_blocks(param.term)
            blocks = self._p_diagonal_sum(param.term) - np.einsum("rga,rgb->ab", Kg, Kg)
            out.append(float(np.sum(param.E * blocks)))
        return np.array(out)

    @cached_property
    def t(self) -> np.ndarray:
        """Shape (m, m): tr(P̂D_iP̂D_j) − 2 tr(K̂D_iP̂D_jK̂ᵀ) + ⟨K̂D_iK̂ᵀ, K̂D_jK̂ᵀ⟩."""
        m = len(self.params)
        out = np.zeros((m, m))
        of_term = [
            [i for i, x in enumerate(self.params) if x.term == a]
            for a in range(len(self.marginal.structure.ks))
        ]
        for a, ii in enumerate(of_term):
            for b in range(a, len(of_term)):
                tensor = self._pair_tensor(a, b)
                for i in ii:
                    for j in of_term[b]:
                        E_i, E_j = self.params[i].E, self.params[j].E
                        out[i, j] = out[j, i] = np.einsum("ac,bd,acbd->", E_i, E_j, tensor)
        kernels = np.array([self._kernel(param) for param in self.params])
        return out + np.tensordot(kernels, kernels, axes=([1, 2], [1, 2]))

    def _k_blocks(self, a: int) -> np.ndarray:
        """K̂'s columns of term a, shape (q_rest, ℓ, k)."""
        K, structure = self.marginal.K, self.marginal.structure
        return K[:, structure.slices[a]].reshape(K.shape[0], structure.nlevels[a], structure.ks[a])

    def _p_block(self, a: int, b: int) -> np.ndarray:
        """P̂_ab (ℓ_a k_a × ℓ_b k_b) for terms a, b not both the first."""
        if a == 0:
            return self._p_block(b, a).T
        structure = self.marginal.structure
        return self.marginal.rest[structure.rest_slices[a - 1], structure.slices[b]]

    def _p_diagonal_sum(self, a: int) -> np.ndarray:
        """Σ_g of P̂'s k × k diagonal blocks for term a."""
        if a == 0:
            return self.marginal.first.sum(axis=0)
        ell, k = self.marginal.structure.nlevels[a], self.marginal.structure.ks[a]
        P4 = self._p_block(a, a).reshape(ell, k, ell, k)
        return np.einsum("gagb->ab", P4)

    def _pair_tensor(self, a: int, b: int) -> np.ndarray:
        """X[α, α', β, β'] with tr(P̂D_iP̂D_j) − 2 tr(K̂D_iP̂D_jK̂ᵀ) = Σ E_i[α,α'] E_j[β,β'] X
        for i of term a, j of term b; shape (k_a, k_a, k_b, k_b).

        X = Σ P̂[gα, hβ] P̂[gα', hβ'] − 2 Σ K̂[r, gα] P̂[gα', hβ] K̂[r, hβ'], summed over the
        levels g, h (and the rows r of K̂); the first term's block of P̂ is block diagonal.
        """
        Ka, Kb = self._k_blocks(a), self._k_blocks(b)
        if a == b == 0:
            P = self.marginal.first
            square = np.einsum("gac,gbd->abcd", P, P)
            KK = np.einsum("rga,rgd->gad", Ka, Kb)
            return square - 2 * np.einsum("gad,gcb->acbd", KK, P)
        (ell_a, ka), (ell_b, kb) = Ka.shape[1:], Kb.shape[1:]
        P4 = self._p_block(a, b).reshape(ell_a, ka, ell_b, kb)
        square = np.tensordot(P4, P4, axes=([0, 2], [0, 2])).transpose(0, 2, 1, 3)
        cross = np.empty((ka, ka, kb, kb))
        for alpha in range(ka):
            for alpha2 in range(ka):
                KP = Ka[:, :, alpha] @ P4[:, alpha2].reshape(ell_a, ell_b * kb)
                cross[alpha, alpha2] = np.einsum("rhb,rhd->bd", KP.reshape(Kb.shape), Kb)
        return square - 2 * cross

    def _kernel(self, param: RandomParameter) -> np.ndarray:
        """K̂ D_i K̂ᵀ, shape (q_rest, q_rest)."""
        Kg = self._k_blocks(param.term)
        r, ell, k = Kg.shape
        return (Kg @ param.E).reshape(r, ell * k) @ Kg.reshape(r, ell * k).T


@dataclass(frozen=True)
class KenwardRoger:
    """Φ, the P_i, Ω (the covariance parameters' asymptotic covariance) and the adjusted
    covariance Φ_A of one fit."""

    Phi: np.ndarray
    P: np.ndarray
    Omega: np.ndarray
    PhiA: np.ndarray


def compute_kenward_roger(fit: MixedFit) -> KenwardRoger:
    """Φ, P_i, Ω and Φ_A from the cross-products (see the module notes), V from the
    unweighted ones at θ̂ and σ̂, Φ the fit's vcov."""
    require_one_residual_sd(fit, "Kenward-Roger")
    if fit.criterion != REML():
        raise ValueError(
            "Kenward-Roger needs a REML fit (as pbkrtest and lmerTest); refit with reml=True"
        )
    A = fit.unweighted_A
    chol = fit.chol if A is fit.A else fit.deviance_function(A).factor(fit.theta)
    if chol is None:
        raise FloatingPointError(f"the model cannot be evaluated at θ = {fit.theta}")
    marginal = MarginalProducts(A, chol)
    params = random_parameters(fit)
    random = RandomQuantities(marginal, params)
    c = np.array([x.value for x in params])
    Phi, sigma2 = fit.vcov.to_numpy(), fit.sigma**2
    C_inv = Phi / sigma2
    p = np.concatenate([random.p, (-marginal.xx - _contract(random.p, c))[None]])
    q = _with_residual(random.q, c, -random.p, -p[-1])
    d_residual = fit.A.n - float(c @ random.d)
    t = _with_residual(random.t[..., None, None], c, random.d[:, None, None], d_residual)[..., 0, 0]
    Cp = C_inv @ p
    info = t - 2 * np.einsum("ijab,ab->ij", q, C_inv) + np.einsum("iab,jba->ij", Cp, Cp)
    units = np.append([x.unit for x in params], 1.0)
    Omega = 2 * units[:, None] * _inverse(units[:, None] * info * units) * units
    U = np.einsum("ij,ijab->ab", Omega, q) - np.einsum("ij,iab,jbc->ac", Omega, p, Cp)
    PhiA = sigma2 * (C_inv + 2 * C_inv @ U @ C_inv)
    return KenwardRoger(Phi, p / sigma2**2, Omega * sigma2**2, (PhiA + PhiA.T) / 2)


def _contract(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Σ_j c_j x[..., j, :, :] over the parameter axis that comes last but two."""
    return np.einsum("...jab,j->...ab", x, c)


def _with_residual(
    x: np.ndarray, c: np.ndarray, targets: np.ndarray, corner: np.ndarray | float
) -> np.ndarray:
    """Complete the table x (shape (m, m, a, a), x_ji = x_ijᵀ) with the residual's row and
    column, from what its contraction with (c, 1) must give: Σ_j c_j x_ij + x_i,res = targets_i
    (shape (m, a, a)) and Σ_j c_j x_res,j + x_res,res = corner.  Shape (m + 1, m + 1, a, a)."""
    m = len(c)
    out = np.empty((m + 1, m + 1, *x.shape[2:]))
    out[:m, :m] = x
    out[:m, m] = targets - _contract(x, c)
    out[m, :m] = np.swapaxes(out[:m, m], -1, -2)
    out[m, m] = corner - _contract(out[m, :m], c)
    return out


def _inverse(info: np.ndarray) -> np.ndarray:
    """pbkrtest's inverse of the information (`SINGULAR_INFORMATION`)."""
    if np.min(np.abs(np.linalg.eigvalsh(info))) > SINGULAR_INFORMATION:
        return np.linalg.inv(info)
    return np.linalg.pinv(info, rcond=GINV_TOLERANCE, hermitian=True)


def kenward_roger_vcov(fit: MixedFit) -> np.ndarray:
    """The adjusted covariance matrix Φ_A of β̂ (p × p)."""
    return fit.kenward_roger.PhiA


def kenward_roger_df(kr: AdjustedCovariance, L: np.ndarray) -> tuple[float, float]:
    """Denominator df and F scaling λ for the hypothesis Lβ = 0 (pbkrtest's ``Lb_ddf``)."""
    Phi, q = kr.Phi, np.linalg.matrix_rank(L)
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    u = [Theta @ Phi @ P @ Phi for P in kr.P]
    m = len(u)
    A1 = sum(kr.Omega[i, j] * np.trace(u[i]) * np.trace(u[j]) for i in range(m) for j in range(m))
    A2 = sum(kr.Omega[i, j] * np.sum(u[i] * u[j].T) for i in range(m) for j in range(m))
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


def kenward_roger_test(fit: MixedFit, L: np.ndarray) -> ContrastTest:
    """The Kenward–Roger F test of Lβ = 0 (pbkrtest's ``KRmodcomp``)."""
    kr = fit.kenward_roger
    q = int(np.linalg.matrix_rank(L))
    df, scale = kenward_roger_df(kr, L)
    Lb = L @ fit.fixef.to_numpy()
    wald = float(Lb @ np.linalg.solve(L @ kr.PhiA @ L.T, Lb))
    f_value = scale * wald / q
    return ContrastTest(q, df, f_value, float(f_sf(f_value, q, df)))

"""Cross-products whose row weights depend on parameters: a residual SD linear on the log
scale in a numeric variable (nlme's ``varExp``, glmmTMB's ``dispformula = ~ x``).

Row i has residual SD σ δᵢ, log δᵢ = (X γ)ᵢ, so for fixed γ the model is a weighted linear mixed
model with weights wᵢ = w⁰ᵢ δᵢ⁻² (w⁰ the prior weights) and cross-products A(γ) = Σᵢ wᵢ φᵢφᵢᵀ,
φᵢ row i of [Z X y].  Without strata to combine, each new γ reruns the cross-product stage, the
one stage that reads the rows; the gradient in γ needs, per entry, the cross-products with
the signed weights ∂wᵢ/∂γ_j = −2 X_ij wᵢ (as a difference of two with non-negative weights).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from mixedfx.crossprod.products import CrossProducts, cross_products
from mixedfx.data.design import Design

if TYPE_CHECKING:
    from mixedfx.pls.evaluated import ProductsAdjoint


@dataclass(frozen=True)
class RowDispersion:
    """A(γ) from the rows, with row weights w⁰ᵢ exp(−2 (X γ)ᵢ).

    Attributes
    ----------
    design
        The model's columns with their prior weights w⁰.
    X
        Shape (n, m): the dispersion design of each row.
    """

    design: Design
    X: np.ndarray

    @property
    def size(self) -> int:
        """m, the entries of γ."""
        return self.X.shape[1]

    @cached_property
    def plain(self) -> CrossProducts:
        """A at γ = 0 (every row with its prior weight); a pass over the rows, made once."""
        return cross_products(self.design)

    @property
    def squares(self) -> np.ndarray:
        """Shape (m,): Σᵢ X_ij²."""
        return np.sum(self.X**2, axis=0)

    def weights(self, gamma: np.ndarray) -> np.ndarray:
        """Shape (n,): wᵢ = w⁰ᵢ δᵢ⁻²."""
        prior = 1.0 if self.design.weights is None else self.design.weights
        return prior * np.exp(-2.0 * (self.X @ gamma))

    def at(self, gamma: np.ndarray) -> CrossProducts:
        """A(γ), with the weights' term Σ log wᵢ."""
        return cross_products(replace(self.design, weights=self.weights(gamma)))

    def gamma_gradient(self, gamma: np.ndarray, adjoint: ProductsAdjoint) -> np.ndarray:
        """∂d/∂γ of a criterion d₀(A(γ)) − Σ log wᵢ(γ) from its ∂d₀/∂A; shape (m,)."""
        w = self.weights(gamma)
        out = np.empty(self.size)
        for j, x in enumerate(self.X.T):
            change = 2.0 * x * w  # −∂wᵢ/∂γ_j
            along = sum(
                sign * adjoint.inner(self._products(np.maximum(sign * change, 0.0)))
                for sign in (1.0, -1.0)
                if np.any(sign * change > 0)
            )
            out[j] = -along + 2.0 * float(x.sum())
        return out

    def _products(self, weights: np.ndarray) -> CrossProducts:
        """Cross-products with these non-negative weights (rows of weight 0 left out)."""
        with np.errstate(divide="ignore"):  # their log-weights, which no one reads here
            return cross_products(replace(self.design, weights=weights))

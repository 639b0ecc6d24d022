"""What one evaluation of the criterion with its derivatives gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from mixedfx.crossprod.products import CrossProducts


class ProductsAdjoint(Protocol):
    """∂d/∂A at one θ: the criterion's derivative with respect to the cross-products."""

    def inner(self, other: CrossProducts) -> float:
        """⟨∂d/∂A, A'⟩: the derivative of d along A' (cross-products of the same structure).

        Where A depends on further parameters, A(δ) = Σ_s w_s(δ) A_s, the chain rule gives
        ∂d/∂w_s = `inner(A_s)`.
        """
        ...


@dataclass(frozen=True)
class Evaluated:
    """The criterion at θ (profiled over σ or at a given σ) with its derivatives.

    Attributes
    ----------
    value
        The criterion.
    gradient
        Shape (nθ,): ∂d/∂θ.
    pwrss
        r², the penalized residual sum of squares.
    adjoint
        ∂d/∂A.
    """

    value: float
    gradient: np.ndarray
    pwrss: float
    adjoint: ProductsAdjoint

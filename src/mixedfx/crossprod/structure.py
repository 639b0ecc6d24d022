"""The block structure of A = [Z X y]ᵀ[Z X y]: which rows and columns belong to which term.

Every stage after the cross-products addresses A by term: the factorization scales a term's
rows by its template, the solution reads a term's conditional modes, the start value a term's
diagonal.  They all take the positions from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class TermStructure:
    """Sizes of the random-effects terms (model order, the first the largest) and of X.

    A's columns are [Z₁ | Z₂ … Z_m X y]: the first term's ℓ₁k₁ columns, then the rest
    (`r` columns), whose rows of `CrossProducts.R` are addressed by `rest_slices`.

    Attributes
    ----------
    ks
        Coefficients per level of each term, k_j.
    nlevels
        Number of levels of each term's grouping factor, ℓ_j.
    p
        Columns of X.
    """

    ks: tuple[int, ...]
    nlevels: tuple[int, ...]
    p: int

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        """Random effects of each term, ℓ_j k_j."""
        return tuple(ell * k for ell, k in zip(self.nlevels, self.ks))

    @cached_property
    def q1(self) -> int:
        """Random effects of the first term, ℓ₁k₁ (the columns of A11 and B)."""
        return self.sizes[0]

    @cached_property
    def q_rest(self) -> int:
        """Random effects of terms 2..m: the leading rows of R."""
        return sum(self.sizes[1:])

    @cached_property
    def q(self) -> int:
        """All random effects."""
        return sum(self.sizes)

    @cached_property
    def r(self) -> int:
        """Order of R: q_rest + p + 1."""
        return self.q_rest + self.p + 1

    @cached_property
    def size(self) -> int:
        """Order of A: q + p + 1."""
        return self.q + self.p + 1

    @cached_property
    def rest_slices(self) -> tuple[slice, ...]:
        """Rows of R of each term 2..m."""
        return self._slices(self.sizes[1:], 0)

    @cached_property
    def slices(self) -> tuple[slice, ...]:
        """Columns of each term in Z (and in A): the first term's, then the rest's."""
        return self._slices(self.sizes, 0)

    @property
    def fixed(self) -> slice:
        """Rows of R of the columns of X."""
        return slice(self.q_rest, self.q_rest + self.p)

    def without_fixed_column(self) -> TermStructure:
        """The structure after one column of X has moved into the response (an offset)."""
        return TermStructure(self.ks, self.nlevels, self.p - 1)

    @staticmethod
    def _slices(sizes: tuple[int, ...], start: int) -> tuple[slice, ...]:
        out = []
        for size in sizes:
            out.append(slice(start, start + size))
            start += size
        return tuple(out)

"""Block storage and the blocked Cholesky factor of the penalized cross-product matrix."""

from mixedfx.linalg.blockdiag import batched_cholesky, batched_lower_solve, congruence, gram
from mixedfx.linalg.offdiag import (
    DenseBlock,
    OffDiagonal,
    PatternBlock,
    SparseBlock,
    off_diagonal,
)

__all__ = [
    "DenseBlock",
    "OffDiagonal",
    "PatternBlock",
    "SparseBlock",
    "batched_cholesky",
    "batched_lower_solve",
    "congruence",
    "gram",
    "off_diagonal",
]

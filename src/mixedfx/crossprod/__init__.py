"""Stage 4, the cross-products A = [Z X y]ᵀ[Z X y]: the only stage that reads every row, and
the storage of A's blocks."""

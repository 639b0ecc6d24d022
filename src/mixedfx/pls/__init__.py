"""The row-free core: penalized least squares on the cross-products.  For given θ, the
blocked Cholesky factor of ΛᵀAΛ + I (blocked or dense evaluation), the profiled criterion
and its exact gradient, and the solution (β̂, conditional modes) at the optimum."""

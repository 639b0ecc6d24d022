"""Stages 2 and 3, the rows: the model frame (columns used, incomplete rows counted) and the
design (the response, the fixed-effects matrix, the random-effects terms as level codes and
covariates, each with its encoding for new data)."""

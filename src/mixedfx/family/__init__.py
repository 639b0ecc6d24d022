"""Response distributions and link functions for generalized linear mixed models."""

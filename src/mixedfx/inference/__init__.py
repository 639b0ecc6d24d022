"""Inference on fitted models: model comparison, t and F tests, intervals."""

from mixedfx.inference.anova import anova
from mixedfx.inference.compare import compare
from mixedfx.inference.r2 import MixedR2, nakagawa_r2

__all__ = ["MixedR2", "anova", "compare", "nakagawa_r2"]

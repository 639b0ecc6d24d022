"""Inference on fitted models: model comparison tests."""

from mixedfx.inference.anova import anova

__all__ = ["anova"]

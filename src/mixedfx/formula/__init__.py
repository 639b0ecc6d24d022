"""Stage 1 of the pipeline: mixed-model formulas (bar terms are ours, formulaic does the rest)."""

from mixedfx.formula.mixed import BarTerm, MixedFormula, parse_formula

__all__ = ["BarTerm", "MixedFormula", "parse_formula"]

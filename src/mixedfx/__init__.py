"""mixedfx: linear mixed-effects models with lme4's formula syntax and lme4's answers.

>>> import mixedfx as mfx
>>> fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))
>>> print(fit.summary())  # doctest: +SKIP
"""

from mixedfx import datasets
from mixedfx.errors import (
    ComparabilityWarning,
    ConvergenceWarning,
    DataError,
    ExactFitWarning,
    FormulaError,
    IdentifiabilityError,
    IdentifiabilityWarning,
    InterruptedBootstrapWarning,
    MissingValuesWarning,
    MixedFxError,
    MixedFxWarning,
    NewLevelError,
    PredictorScaleWarning,
    ProfileWarning,
    RankDeficiencyWarning,
    RefitWarning,
    SingularFitWarning,
    UnknownColumnError,
)
from mixedfx.formula import MixedFormula, parse_formula
from mixedfx.formula.safe import check_formula
from mixedfx.inference import anova, compare, nakagawa_r2
from mixedfx.inference.bootstrap import BootstrapResult, bootstrap
from mixedfx.models.lm import LinearModel, lm
from mixedfx.models.lmlist import LmList, lm_list
from mixedfx.models.lmm import LinearMixedModel, lmer
from mixedfx.optimize import OptimizerOptions, OptSummary

__version__ = "0.1.0"

__all__ = [
    "BootstrapResult",
    "ComparabilityWarning",
    "ConvergenceWarning",
    "DataError",
    "ExactFitWarning",
    "FormulaError",
    "IdentifiabilityError",
    "IdentifiabilityWarning",
    "InterruptedBootstrapWarning",
    "LinearMixedModel",
    "LinearModel",
    "LmList",
    "MissingValuesWarning",
    "MixedFormula",
    "MixedFxError",
    "MixedFxWarning",
    "NewLevelError",
    "OptSummary",
    "OptimizerOptions",
    "PredictorScaleWarning",
    "ProfileWarning",
    "RankDeficiencyWarning",
    "RefitWarning",
    "SingularFitWarning",
    "UnknownColumnError",
    "__version__",
    "anova",
    "bootstrap",
    "check_formula",
    "compare",
    "datasets",
    "lm",
    "lm_list",
    "lmer",
    "nakagawa_r2",
    "parse_formula",
]

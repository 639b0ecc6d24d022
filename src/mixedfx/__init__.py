"""mixedfx: linear mixed-effects models with lme4's formula syntax and lme4's answers.

>>> import mixedfx as mfx
>>> fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))
>>> print(fit.summary())  # doctest: +SKIP
"""

from importlib import import_module
from typing import TYPE_CHECKING

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
    UnsupportedError,
    WeightsWarning,
    ZeroWeightsWarning,
)

if TYPE_CHECKING:
    from mixedfx.formula import MixedFormula, parse_formula
    from mixedfx.formula.safe import check_formula
    from mixedfx.inference import anova, compare, nakagawa_r2
    from mixedfx.inference.bootstrap import BootstrapResult, bootstrap
    from mixedfx.models.lm import LinearModel, lm
    from mixedfx.models.lmlist import LmList, lm_list
    from mixedfx.models.lmm import LinearMixedModel, lmer
    from mixedfx.optimize import OptimizerOptions, OptSummary

# The modelling API is imported on first use (PEP 562): formulaic and SciPy take a second
# or more to import, which a command that fits nothing (``mixedfx --help``) need not pay.
_LAZY = {
    "MixedFormula": "mixedfx.formula",
    "parse_formula": "mixedfx.formula",
    "check_formula": "mixedfx.formula.safe",
    "anova": "mixedfx.inference",
    "compare": "mixedfx.inference",
    "nakagawa_r2": "mixedfx.inference",
    "BootstrapResult": "mixedfx.inference.bootstrap",
    "bootstrap": "mixedfx.inference.bootstrap",
    "LinearModel": "mixedfx.models.lm",
    "lm": "mixedfx.models.lm",
    "LmList": "mixedfx.models.lmlist",
    "lm_list": "mixedfx.models.lmlist",
    "LinearMixedModel": "mixedfx.models.lmm",
    "lmer": "mixedfx.models.lmm",
    "OptimizerOptions": "mixedfx.optimize",
    "OptSummary": "mixedfx.optimize",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mixedfx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "UnsupportedError",
    "WeightsWarning",
    "ZeroWeightsWarning",
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

"""Stage 6, optimize: minimize the profiled deviance over θ (`minimize_theta`).

One file per optimizer (`lbfgsb`, `bfgs`, `bobyqa`), the run's verification (`verify`), the
options and record (`options`), and the policy that chains and restarts them (`minimize`).
"""

from mixedfx.optimize.bfgs import bfgs
from mixedfx.optimize.bobyqa import bobyqa
from mixedfx.optimize.lbfgsb import lbfgsb
from mixedfx.optimize.minimize import minimize_theta
from mixedfx.optimize.options import Differentiable, OptimizerOptions, OptSummary
from mixedfx.optimize.verify import gradient_hessian, verify_stationary

__all__ = [
    "Differentiable",
    "OptSummary",
    "OptimizerOptions",
    "bfgs",
    "bobyqa",
    "gradient_hessian",
    "lbfgsb",
    "minimize_theta",
    "verify_stationary",
]

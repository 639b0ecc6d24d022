# Reference numbers for tests/test_exact_fits.py, test_boundary_optimum.py and
# test_compare_anova.py (R 4.x, lme4, performance), run from the repository root:
#   Rscript tests/data/inputs_numeric.R
suppressMessages({library(lme4); library(performance)})
options(digits = 15)
show <- function(label, value) { cat("#", label, "\n"); print(value) }
conditions <- function(expr) withCallingHandlers(
  tryCatch(expr, error = function(e) cat("# error:", conditionMessage(e), "\n")),
  warning = function(w) { cat("# warning:", conditionMessage(w), "\n"); invokeRestart("muffleWarning") },
  message = function(m) { cat("# message:", conditionMessage(m)); invokeRestart("muffleMessage") })

# y = g + 1e-4 noise, 8 groups x 10 rows
near <- read.csv("tests/data/near_exact.csv")
m <- lmer(y ~ 1 + (1 | g), near)
show("near_exact theta, fixef, vcov, REML criterion, converged messages",
     list(getME(m, "theta"), fixef(m), as.data.frame(VarCorr(m))$vcov, REMLcrit(m),
          m@optinfo$conv$lme4$messages))
m <- lmer(y ~ 1 + (1 | g), near, REML = FALSE)
show("near_exact ML theta, vcov, deviance", list(getME(m, "theta"), as.data.frame(VarCorr(m))$vcov, deviance(m)))
conditions(lmer(y ~ 1 + (1 | g), transform(near, y = g)))  # constant within groups

# a correlated random slope; x scaled by 1e12 gives lme4's scale warning, then an error
slope <- read.csv("tests/data/random_slope.csv")
m <- lmer(y ~ x + (x | g), slope)
show("random_slope theta, fixef, REML criterion", list(getME(m, "theta"), fixef(m), REMLcrit(m)))
conditions(lmer(y ~ x + (x | g), transform(slope, x = x * 1e12)))
conditions(lmer(y ~ x + (1 | g), transform(slope, x = x * 1e12)))
conditions(lmer(y ~ x + (1 | g), slope))  # no warning
m <- lmer(y ~ x + (1 | g), slope)
show("random_slope (1 | g) variance", as.data.frame(VarCorr(m))$vcov)
conditions(m2 <- lmer(y ~ x + (1 | g) + (1 | g), slope))
show("(1 | g) + (1 | g): variances and their sum", {v <- as.data.frame(VarCorr(m2))$vcov; list(v, v[1] + v[2])})
conditions(lmer(y ~ x + (z | g), transform(slope, z = 0)))
conditions(lmer(y ~ x + (1 | g), transform(slope, y = 3)))  # constant response

# anova with a linear model, and the refit message; compare's R²
d <- read.csv("src/mixedfx/datasets/exercise_mood.csv")
m0 <- lm(Mood ~ Exercise, d)
m1 <- lmer(Mood ~ Exercise + (1 | State), d)
m2 <- lmer(Mood ~ Exercise + (Exercise | State), d, REML = FALSE)
conditions(show("anova(m1, m0)", as.data.frame(anova(m1, m0))))
show("anova(m2, update(m1, REML = FALSE), m0)", as.data.frame(anova(m2, update(m1, REML = FALSE), m0)))
show("r.squared of m0", summary(m0)$r.squared)
show("r2_nakagawa of m2", unlist(r2_nakagawa(m2)))

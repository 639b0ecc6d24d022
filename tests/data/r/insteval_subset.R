# Satterthwaite (lmerTest) and Kenward-Roger (pbkrtest) on every 15th row of InstEval (4,895
# rows; on the first few thousand rows the department's variance is 0) with the three
# crossed scalar terms of the benchmark's InstEval model and a factor among the fixed
# effects, at a tightly converged REML optimum (as ddf_tight.R).  pbkrtest forms the n x n
# covariance, which it cannot on all 73,421 rows.
# Run from the repository root:
#   Rscript tests/data/r/insteval_subset.R > tests/data/insteval_subset.json
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2 (Debian bookworm).
suppressMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
tight <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE, optCtrl = list(
  xtol_abs = 1e-13, ftol_abs = 1e-15, xtol_rel = 1e-13, ftol_rel = 1e-15, maxeval = 1e5))
data(InstEval, package = "lme4")
every <- 15
formula <- "y ~ service + lectage + (1 | s) + (1 | d) + (1 | dept)"
m <- lmer(as.formula(formula), InstEval[seq(1, nrow(InstEval), by = every), ], REML = TRUE, control = tight)
s <- summary(m)$coefficients
k <- summary(m, ddf = "Kenward-Roger")$coefficients
out <- list(every = unbox(every), formula = unbox(formula), reml = unbox(TRUE),
            objective = unbox(REMLcrit(m)), theta = unname(getME(m, "theta")),
            names = rownames(s),
            satterthwaite = list(df = unname(s[, "df"]), t = unname(s[, "t value"])),
            kenward_roger = list(df = unname(k[, "df"]), t = unname(k[, "t value"]),
                                 vcov = unname(as.matrix(vcovAdj(m)))))
cat(toJSON(out, digits = NA, pretty = TRUE), "\n")

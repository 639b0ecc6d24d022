# Satterthwaite (lmerTest) and Kenward-Roger (pbkrtest) on every 25th row of InstEval (2,937
# rows; on some other subsets the department's variance is 0) with the three crossed scalar
# terms of the benchmark's InstEval model and a factor among the fixed effects, at a tightly
# converged REML optimum (as ddf_tight.R).  pbkrtest forms n x n matrices, which it cannot on
# all 73,421 rows.  The Kenward-Roger t tests are lmerTest's (get_KR1D) with pbkrtest's
# adjusted covariance computed once.
# Run from the repository root:
#   Rscript tests/data/r/insteval_subset.R > tests/data/insteval_subset.json
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2 (Debian bookworm).
suppressMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
tight <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE, optCtrl = list(
  xtol_abs = 1e-13, ftol_abs = 1e-15, xtol_rel = 1e-13, ftol_rel = 1e-15, maxeval = 1e5))
data(InstEval, package = "lme4")
every <- 25
formula <- "y ~ service + lectage + (1 | s) + (1 | d) + (1 | dept)"
rows <- InstEval[seq(1, nrow(InstEval), by = every), ]
rows$lectage <- factor(rows$lectage, ordered = FALSE)  # treatment contrasts, as mixedfx's
m <- lmer(as.formula(formula), rows, REML = TRUE, control = tight)
s <- summary(m)$coefficients
kr <- vcovAdj(m)
adjusted <- as.matrix(kr)
L <- diag(nrow(adjusted))
kr_df <- sapply(seq_len(nrow(L)), function(i) Lb_ddf(L[i, , drop = FALSE], vcov(m), kr))
out <- list(every = unbox(every), formula = unbox(formula), reml = unbox(TRUE),
            objective = unbox(REMLcrit(m)), theta = unname(getME(m, "theta")),
            names = rownames(s),
            satterthwaite = list(df = unname(s[, "df"]), t = unname(s[, "t value"])),
            kenward_roger = list(df = kr_df, t = unname(fixef(m) / sqrt(diag(adjusted))),
                                 vcov = unname(adjusted)))
cat(toJSON(out, digits = NA, pretty = TRUE), "\n")

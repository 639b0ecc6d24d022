# The reference values of tests/test_dispersion.py for a numeric dispersion variable:
# Rscript sleepstudy_varexp.R > sleepstudy_varexp.json (R 4.2.2, nlme 3.1-162, glmmTMB 1.1.5)
suppressPackageStartupMessages({library(nlme); library(glmmTMB); library(lme4); library(jsonlite)})
data(sleepstudy, package = "lme4")
out <- list()
for (reml in c(FALSE, TRUE)) {
  g <- glmmTMB(Reaction ~ Days + (Days | Subject), dispformula = ~ Days, data = sleepstudy, REML = reml)
  n <- lme(Reaction ~ Days, random = ~ Days | Subject, weights = varExp(form = ~ Days), data = sleepstudy, method = if (reml) "REML" else "ML")
  key <- if (reml) "reml" else "ml"
  out[[key]] <- list(
    glmmTMB_loglik = as.numeric(logLik(g)), nlme_loglik = as.numeric(logLik(n)),
    glmmTMB_fixef = unname(fixef(g)$cond), nlme_fixef = unname(fixef(n)),
    glmmTMB_disp = unname(fixef(g)$disp), nlme_varexp = unname(coef(n$modelStruct$varStruct, unconstrained = FALSE)),
    nlme_sigma = n$sigma,
    glmmTMB_vcov = unname(as.matrix(vcov(g)$cond)), nlme_vcov = unname(n$varFix),
    glmmTMB_sd = unname(attr(VarCorr(g)$cond$Subject, "stddev")),
    nlme_sd = unname(as.numeric(VarCorr(n)[1:2, "StdDev"])))
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE))

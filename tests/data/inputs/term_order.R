# Reference for tests/test_term_order.py: lme4's order of random-effect terms (mkReTrms sorts
# by rev(order(nlevels)) only when some term has more levels than the one before it) and of
# coef()'s columns (random-only coefficients first).  Run: Rscript term_order.R
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("term_order.csv")
formulas <- c(
  crossed_interaction = "y ~ x + (1|A) + (1|B) + (1|A:B)",
  tie_no_reorder = "y ~ x + (1|A) + (1|B)",
  tie_reversed = "y ~ x + (1|A) + (1|C) + (1|B)",
  same_factor_reversed = "y ~ x + (1|A) + (0 + x|A) + (1|C)",
  no_intercept = "y ~ 0 + x + x:w + (1|A)",
  random_only_columns = "y ~ 0 + x + (1|A) + (0 + w|B)"
)
out <- lapply(formulas, function(f) {
  m <- lmer(as.formula(f), d, REML = TRUE,
            control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-10, maxfun = 1e5)))
  vc <- as.data.frame(VarCorr(m))
  list(
    formula = f,
    theta = unname(getME(m, "theta")),
    reml = REMLcrit(m),
    fixef = as.list(fixef(m)),
    varcorr = list(grp = vc$grp, var1 = ifelse(is.na(vc$var1), "", vc$var1),
                   var2 = ifelse(is.na(vc$var2), "", vc$var2), vcov = vc$vcov),
    ranef = lapply(ranef(m), function(r) list(columns = colnames(r), rows = rownames(r),
                                              values = unname(as.matrix(r)))),
    coef = lapply(coef(m), function(r) list(columns = colnames(r), values = unname(as.matrix(r))))
  )
})
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "term_order.json")

# Reference for tests/test_formula_inputs.py (lme4 1.1, REML, bobyqa with tight tolerances).
# Run: Rscript formula_inputs.R
suppressMessages({library(lme4); library(jsonlite)})
data(sleepstudy)
s <- sleepstudy
s$Subject <- as.character(s$Subject)
s$b <- s$Days > 4
s$Days1 <- s$Days + 1
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-10, maxfun = 1e5))
formulas <- c(
  unparenthesised_bar = "log(Reaction) ~ Days | Subject",
  lhs_division = "Reaction/Days1 ~ 1 + (1|Subject)",
  lhs_arithmetic = "(Reaction - 250)*2 ~ Days + (Days|Subject)",
  logical_predictor = "Reaction ~ b + (1|Subject)",
  logical_without_intercept = "Reaction ~ 0 + b + (b|Subject)"
)
out <- lapply(formulas, function(f) {
  m <- suppressMessages(lmer(as.formula(f), s, REML = TRUE, control = ctrl))
  list(formula = f, reml = REMLcrit(m), theta = unname(getME(m, "theta")),
       fixef = as.list(fixef(m)), ranef_columns = colnames(ranef(m)[[1]]))
})
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "formula_inputs.json")

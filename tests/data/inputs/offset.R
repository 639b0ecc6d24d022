# Reference for tests/test_offset.py: lme4 with offset() terms (and lm for comparison).
# Run: Rscript offset.R
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("offset.csv")
data(sleepstudy)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-10, maxfun = 1e5))
new_sleep <- data.frame(Days = c(0, 5, 12), Subject = c("308", "309", "999"))
new_sim <- data.frame(x = c(-1, 0, 2), e = c(1, 2.5, 0.7), g = c("g00", "g05", "new"))
cases <- list(
  sleep_reml = list(f = "Reaction ~ Days + offset(Days*2) + (1|Subject)", d = sleepstudy, reml = TRUE, new = new_sleep),
  sim_reml = list(f = "y ~ x + offset(log(e)) + (1 + x|g)", d = d, reml = TRUE, new = new_sim),
  sim_ml_two_offsets = list(f = "y ~ x + offset(log(e)) + offset(x/2) + (1|g)", d = d, reml = FALSE, new = new_sim)
)
out <- lapply(cases, function(k) {
  m <- lmer(as.formula(k$f), k$d, REML = k$reml, control = ctrl)
  list(formula = k$f, reml = k$reml, objective = if (k$reml) REMLcrit(m) else deviance(m),
       theta = unname(getME(m, "theta")), fixef = unname(fixef(m)), sigma = sigma(m),
       fitted = unname(fitted(m)), residuals = unname(residuals(m)),
       predict = unname(predict(m, k$new, allow.new.levels = TRUE)),
       predict_population = unname(predict(m, k$new, re.form = NA)),
       coef_se = unname(sqrt(diag(as.matrix(vcov(m))))))
})
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "offset.json")

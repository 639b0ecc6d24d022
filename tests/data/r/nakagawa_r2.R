# Marginal and conditional R² (Nakagawa & Schielzeth 2013; Johnson 2014 for random slopes)
# from performance::r2_nakagawa, at optima found with tight stopping rules (lme4's default
# rules stop early enough to move R² by up to 2e-5).
# Run from the repository root:  Rscript tests/data/r/nakagawa_r2.R > tests/data/nakagawa_r2.json
# R 4.2.2, lme4 1.1-31, performance 0.10.2, insight 0.19.0 (Debian bookworm).
#
# For an uncorrelated slope (Days || Subject), insight::get_variance leaves the slope's
# variance out of var.random (it counts the intercept term only), so performance's value is
# not Johnson's; "johnson" recomputes that case from get_variance's own components:
# var.random = var.intercept + var.slope * mean(Days²), as performance does for (Days | Subject).
suppressMessages({library(lme4); library(performance); library(insight); library(jsonlite)})
data <- function(name) read.csv(file.path("src/mixedfx/datasets", paste0(name, ".csv")),
                                stringsAsFactors = TRUE)
tight <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE, optCtrl = list(
  xtol_abs = 1e-13, ftol_abs = 1e-15, xtol_rel = 1e-13, ftol_rel = 1e-15, maxeval = 1e5))
models <- list(
  list("sleepstudy", "Reaction ~ Days + (1 | Subject)", TRUE),
  list("sleepstudy", "Reaction ~ Days + (Days | Subject)", TRUE),
  list("sleepstudy", "Reaction ~ Days + (Days | Subject)", FALSE),
  list("sleepstudy", "Reaction ~ Days + (Days || Subject)", TRUE),
  list("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", TRUE),
  list("cake", "angle ~ recipe + temp + (1 | recipe:replicate)", TRUE))
out <- lapply(models, function(m) {
  d <- data(m[[1]])
  fit <- lmer(as.formula(m[[2]]), d, REML = m[[3]], control = tight)
  r2 <- r2_nakagawa(fit)
  res <- list(data = m[[1]], formula = m[[2]], reml = m[[3]],
              marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional))
  if (grepl("||", m[[2]], fixed = TRUE)) {
    v <- get_variance(fit)
    random <- v$var.intercept[[1]] + v$var.slope[[1]] * mean(d$Days^2)
    total <- v$var.fixed + random + v$var.residual
    res$johnson <- list(marginal = v$var.fixed / total,
                        conditional = (v$var.fixed + random) / total)
  }
  res
})
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "\n")

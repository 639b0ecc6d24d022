# Reference numbers for tests/test_weights.py (lme4 1.1-31, lmerTest 3.1-3, R 4.2.2):
#   Rscript weights.R > weights.json   (run in tests/data/weights)
# The two lmer_*.json cases beside it are copies of the project's reference cases (lme4's
# default tolerances); the fits here use tight ones, so that they are the exact optima.
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
tight <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE, optCtrl = list(
  xtol_abs = 1e-13, ftol_abs = 1e-15, xtol_rel = 1e-13, ftol_rel = 1e-15, maxeval = 1e5))
d <- read.csv("weighted_lmm.csv")
fixed <- function(m) unname(fixef(m))
out <- list()

# rows of weight 0: lme4 keeps them and returns logLik -Inf; mixedfx leaves them out,
# which is the fit to the other rows
d$w0 <- d$w; d$w0[c(1, 2, 3, 50, 51)] <- 0
m <- lme4::lmer(y ~ x + (1 + x | g), d[d$w0 > 0, ], weights = w0, control = tight)
out$zero_weights <- list(rows = c(0, 1, 2, 49, 50), nobs = nobs(m), df_resid = df.residual(m),
  loglik = as.numeric(logLik(m)), theta = unname(getME(m, "theta")), fixef = fixed(m),
  sigma = sigma(m), fitted_head = unname(head(fitted(m), 5)),
  lme4_loglik_with_zero_rows = as.numeric(logLik(lme4::lmer(y ~ x + (1 + x | g), d, weights = w0, control = tight))))

# weights all equal to 3 against the plain fit
for (reml in c(TRUE, FALSE)) {
  m0 <- lme4::lmer(y ~ x + (1 + x | g), d, REML = reml, control = tight)
  d$w3 <- 3
  m3 <- lme4::lmer(y ~ x + (1 + x | g), d, REML = reml, weights = w3, control = tight)
  out[[if (reml) "constant_reml" else "constant_ml"]] <- list(
    plain = list(loglik = as.numeric(logLik(m0)), theta = unname(getME(m0, "theta")),
                 sigma = sigma(m0), fixef = fixed(m0)),
    weighted = list(loglik = as.numeric(logLik(m3)), theta = unname(getME(m3, "theta")),
                    sigma = sigma(m3), fixef = fixed(m3)))
}

# Pearson residuals, the offset as an argument, several offsets
m <- lme4::lmer(y ~ x + offset(z) + (1 | g), d, weights = w, REML = FALSE, control = tight)
out$pearson_head <- unname(head(residuals(m, type = "pearson"), 10))
out$pearson_scaled_quantiles <- unname(quantile(residuals(m, type = "pearson", scaled = TRUE)))
ma <- lme4::lmer(y ~ x + (1 | g), d, weights = w, REML = FALSE, offset = z, control = tight)
out$offset_argument <- list(loglik = as.numeric(logLik(ma)), fixef = fixed(ma))
m2 <- lme4::lmer(y ~ x + offset(z) + offset(2 * x) + (1 | g), d, weights = w, REML = FALSE, control = tight)
out$two_offsets <- list(loglik = as.numeric(logLik(m2)), fixef = fixed(m2),
  fitted_head = unname(head(fitted(m2), 5)))
nd <- data.frame(x = c(-1, 0, 2), z = c(0.5, -1, 2), g = c("G01", "G02", "G40"))
out$predict_new <- list(x = nd$x, z = nd$z, g = nd$g,
  population = unname(predict(m, newdata = nd, re.form = NA)),
  conditional = unname(predict(m, newdata = nd)))

# likelihood-ratio test between weighted ML fits, and Satterthwaite on them
m1 <- lmerTest::lmer(y ~ x + (1 | g), d, weights = w, REML = FALSE, control = tight)
m2 <- lmerTest::lmer(y ~ x + (1 + x | g), d, weights = w, REML = FALSE, control = tight)
a <- anova(m1, m2)
out$lrt <- list(loglik = a$logLik, chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>Chisq)"]][2])
s <- summary(m2)$coefficients
out$satterthwaite_slopes_ml <- list(df = unname(s[, "df"]), p = unname(s[, "Pr(>|t|)"]),
  se = unname(s[, "Std. Error"]))
# lme4's na.action drops the rows whose offset is NA
d$z_na <- d$z; d$z_na[c(4, 5)] <- NA
mo <- lme4::lmer(y ~ x + (1 | g), d, weights = w, REML = FALSE, offset = z_na, control = tight)
out$offset_na <- list(nobs = nobs(mo), loglik = as.numeric(logLik(mo)))

# the profile interval of the intercept, computed directly: ML refits with β₀ held in an offset
# (lme4's own confint(m, method = "profile") is wrong for β of a weighted fit)
full <- lme4::lmer(y ~ x + (1 + x | g), d, weights = w, REML = FALSE, control = tight)
zeta <- function(b0) {
  d$b0 <- b0
  m <- lme4::lmer(y ~ 0 + x + (1 + x | g), d, weights = w, REML = FALSE, offset = b0,
                  control = tight)
  sqrt(pmax(deviance(m) - deviance(full), 0)) - qnorm(0.975)
}
b0 <- fixef(full)[[1]]
out$profile_intercept <- c(uniroot(zeta, c(b0 - 1, b0), tol = 1e-10)$root,
                           uniroot(zeta, c(b0, b0 + 1), tol = 1e-10)$root)

# the correlation's profile interval of the REML fit on a grid 4x finer than confint's default
mr <- lme4::lmer(y ~ x + (1 + x | g), d, weights = w)
fine <- suppressWarnings(confint(profile(mr, which = "theta_", delta.cutoff = 1 / 32)))
out$profile_correlation_fine <- unname(fine[".sig02", ])

# performance's R² of a weighted fit (the rows' variances without the weights)
mr <- lme4::lmer(y ~ x + (1 | g), d, weights = w, control = tight)
r2 <- performance::r2_nakagawa(mr)
out$r2_nakagawa <- list(marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))

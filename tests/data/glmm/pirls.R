# Reference values of tests/test_pirls.py: lme4's deviance function of the nAGQ = 0 fit (β
# inside PIRLS) on cbpp, with PIRLS run to a tight tolerance (its default, 1e-7, leaves the
# deviance up to 1e-3 above the mode's at θ = 1.1).
# Rscript pirls.R > pirls.json   (R 4.2.2, lme4 1.1-31)
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
d <- read.csv("cbpp.csv", colClasses = c(herd = "factor", period = "factor"))
f0 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, binomial, nAGQ = 0,
            devFunOnly = TRUE, control = glmerControl(tolPwrss = 1e-13))
thetas <- c(0, 0.3, 0.642, 1.1)
out <- lapply(thetas, function(th) {
  dev <- f0(th)
  rho <- environment(f0)
  list(theta = th, deviance = dev, beta = rho$pp$beta(1), sqrL = rho$pp$sqrL(1),
       aic = rho$resp$aic())
})
cat(toJSON(out, digits = NA, auto_unbox = TRUE))

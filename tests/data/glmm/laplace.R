# Reference values of tests/test_pirls.py: lme4's Laplace deviance function (nAGQ = 1, its
# argument c(θ, β)) on cbpp, PIRLS over u to a tight tolerance, at lme4's estimates and off them.
# Rscript laplace.R > laplace.json   (R 4.2.2, lme4 1.1-31)
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
d <- read.csv("cbpp.csv", colClasses = c(herd = "factor", period = "factor"))
m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, binomial)
f1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, binomial, nAGQ = 1,
            devFunOnly = TRUE, control = glmerControl(tolPwrss = 1e-13))
at <- c(getME(m, "theta"), fixef(m))
points <- list(at, at + c(0.2, -0.1, 0.05, 0.3, -0.2), c(0.3, -1.2, -1.1, -1.2, -1.7))
out <- lapply(points, function(x) {
  dev <- f1(x)
  list(x = unname(x), deviance = dev, sqrL = environment(f1)$pp$sqrL(1))
})
cat(toJSON(list(points = out, loglik = as.numeric(logLik(m))), digits = NA, auto_unbox = TRUE))

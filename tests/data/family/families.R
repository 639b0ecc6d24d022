# Reference values of tests/test_family.py: R's family objects on a grid.
# Rscript families.R > families.json   (R 4.2.2, stats)
suppressPackageStartupMessages(library(jsonlite))
eta <- c(-40, -31, -29.5, -10, -2.5, -0.3, 0, 0.7, 3, 12, 29.5, 31, 40)
out <- list(eta = eta, links = list())
for (name in c("logit", "probit", "cloglog", "cauchit")) {
  f <- binomial(name)
  out$links[[name]] <- list(linkinv = f$linkinv(eta), mu_eta = f$mu.eta(eta),
                            linkfun = f$linkfun(f$linkinv(eta[abs(eta) < 25])))
}
pos <- c(0.001, 0.2, 1, 2.5, 7, 40)
for (name in c("log", "sqrt", "identity", "inverse")) {
  f <- poisson(if (name %in% c("log", "sqrt", "identity")) name else "log")
  if (name == "inverse") f <- Gamma("inverse")
  out$links[[name]] <- list(eta = pos, linkinv = f$linkinv(pos), mu_eta = f$mu.eta(pos),
                            linkfun = f$linkfun(pos))
}
f <- inverse.gaussian()
out$links[["1/mu^2"]] <- list(eta = pos, linkinv = f$linkinv(pos), mu_eta = f$mu.eta(pos),
                              linkfun = f$linkfun(pos))
y01 <- c(0, 0.25, 0.5, 1, 1, 0); mu01 <- c(0.1, 0.3, 0.5, 0.9, 0.999, 1e-8); w01 <- c(1, 4, 2, 1, 3, 1)
yc <- c(0, 1, 3, 10, 0, 7); muc <- c(0.5, 1.2, 2.5, 8, 1e-6, 7)
yp <- c(0.3, 1, 2.2, 8, 0.05, 4); mup <- c(0.5, 1.2, 2.5, 6, 0.1, 4); wp <- c(1, 2, 1, 0.5, 1, 3)
out$families <- list(
  binomial = list(y = y01, mu = mu01, wt = w01, variance = binomial()$variance(mu01),
                  dev_resids = binomial()$dev.resids(y01, mu01, w01),
                  aic = binomial()$aic(y01, w01, mu01, w01, 0)),
  poisson = list(y = yc, mu = muc, wt = w01, variance = poisson()$variance(muc),
                 dev_resids = poisson()$dev.resids(yc, muc, w01),
                 aic = poisson()$aic(yc, w01, muc, w01, sum(poisson()$dev.resids(yc, muc, w01)))),
  Gamma = list(y = yp, mu = mup, wt = wp, variance = Gamma()$variance(mup),
               dev_resids = Gamma()$dev.resids(yp, mup, wp),
               aic = Gamma()$aic(yp, wp, mup, wp, sum(Gamma()$dev.resids(yp, mup, wp)))),
  inverse_gaussian = list(y = yp, mu = mup, wt = wp, variance = inverse.gaussian()$variance(mup),
                          dev_resids = inverse.gaussian()$dev.resids(yp, mup, wp),
                          aic = inverse.gaussian()$aic(yp, wp, mup, wp,
                                                       sum(inverse.gaussian()$dev.resids(yp, mup, wp)))))
cat(toJSON(out, digits = NA, auto_unbox = TRUE))

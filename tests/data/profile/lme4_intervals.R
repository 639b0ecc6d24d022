# lme4's profile intervals for y ~ age + sex + (age | g) on sim3.csv and sim6.csv (27 groups
# of 4 rows, simulated in R with fixed seeds), written to lme4_intervals.json.
# R 4.x, lme4 1.1-31+.  Run from this directory: Rscript lme4_intervals.R
#
# "default" is confint(m, method = "profile"); "fine" profiles on a finer grid, which moves
# lme4's spline interpolation of zeta closer to the exact crossing where the default grid is
# coarse (sim3's correlation) but can jump between valleys of the profile (sim6's sd(age)).
suppressMessages({library(lme4); library(jsonlite)})
out <- list()
for (s in c("sim3", "sim6")) {
  m <- lmer(y ~ age + sex + (age | g), read.csv(paste0(s, ".csv")))
  ci <- function(x) list(names = rownames(x), lower = unname(x[, 1]), upper = unname(x[, 2]))
  default <- confint(m, method = "profile", oldNames = FALSE)
  fine <- confint(profile(m, signames = FALSE, delta.cutoff = 1 / 64, maxpts = 400))
  out[[s]] <- list(default = ci(default), fine = ci(fine))
}
writeLines(toJSON(out, digits = 15, auto_unbox = TRUE, pretty = TRUE), "lme4_intervals.json")

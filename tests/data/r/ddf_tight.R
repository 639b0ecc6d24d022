# Satterthwaite (lmerTest) and Kenward-Roger (pbkrtest through lmerTest) t tests of every
# lmer reference case, at an optimum found with tight stopping rules.  lme4's default
# nloptwrap rules stop up to 3e-8 above the minimum of the deviance, which moves these df
# by up to 1e-4 (relative); at the tight optimum they are fixed to about 1e-7, the
# precision of numDeriv's derivatives.
# Run from the repository root:  Rscript tests/data/r/ddf_tight.R > tests/data/ddf_tight.json
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2 (Debian bookworm).
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
cases <- sub("\\.json$", "", list.files("tests/data/cases", pattern = "\\.json$"))
tight <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE, optCtrl = list(
  xtol_abs = 1e-13, ftol_abs = 1e-15, xtol_rel = 1e-13, ftol_rel = 1e-15, maxeval = 1e5))
read_case_data <- function(ref) {
  local <- file.path("tests/data", ref$data)
  path <- if (file.exists(local)) local else file.path("src/mixedfx/datasets", ref$data)
  d <- read.csv(path, stringsAsFactors = TRUE)
  for (col in names(ref$factor_levels))
    d[[col]] <- factor(as.character(d[[col]]), levels = as.character(ref$factor_levels[[col]]))
  d
}
out <- list()
for (name in cases) {
  ref <- fromJSON(file.path("tests/data/cases", paste0(name, ".json")))
  if (ref$kind != "lmer") next
  m <- suppressMessages(lmer(as.formula(ref$formula), read_case_data(ref), REML = ref$reml,
                             control = tight))
  s <- summary(m)$coefficients
  res <- list(formula = unbox(ref$formula), reml = unbox(ref$reml),
              objective = unbox(-2 * logLik(m)[1]),
              names = rownames(s),
              satterthwaite = list(df = unname(s[, "df"]), t = unname(s[, "t value"]),
                                   p = unname(s[, "Pr(>|t|)"])))
  if (ref$reml) {
    k <- summary(m, ddf = "Kenward-Roger")$coefficients
    res$kenward_roger <- list(df = unname(k[, "df"]), se = unname(k[, "Std. Error"]),
                              t = unname(k[, "t value"]), p = unname(k[, "Pr(>|t|)"]))
  }
  out[[name]] <- res
}
cat(toJSON(out, digits = NA, pretty = TRUE), "\n")

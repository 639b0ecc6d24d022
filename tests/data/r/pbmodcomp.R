# pbkrtest's parametric bootstrap likelihood-ratio test of the article's random slope
# (exercise_mood: Mood ~ Exercise + (1 | State) against + (1 + Exercise | State), both ML).
# The slope variance sits on its boundary under the null, so the bootstrap p-value is about
# half the chi-square one.  Run from the repository root (about 10 minutes):
#   Rscript tests/data/r/pbmodcomp.R
# R 4.2.2, lme4 1.1-31, pbkrtest 0.5.2 (Debian bookworm).
suppressMessages({library(lme4); library(pbkrtest)})
d <- read.csv("src/mixedfx/datasets/exercise_mood.csv", stringsAsFactors = TRUE)
small <- lmer(Mood ~ Exercise + (1 | State), d, REML = FALSE)
large <- lmer(Mood ~ Exercise + (1 + Exercise | State), d, REML = FALSE)
test <- PBmodcomp(large, small, nsim = 10000, seed = 20261124)
print(summary(test))
cat("nsim used:", test$ctime, length(test$ref), "\n")
print(test$test, digits = 10)

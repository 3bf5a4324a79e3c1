## Reference values for Cox models with a column the events carry no information on (R's
## coxph: NA coefficient, tests on fewer degrees of freedom). R >= 4.2, survival 3.5, jsonlite.
## Run from this folder: Rscript make_cox_singular_reference.R  (writes cox_singular.json)
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
options(warn = 1)
fit_summary <- function(fit) {
  s <- summary(fit)
  list(coef = unname(coef(fit)), names = names(coef(fit)), loglik = fit$loglik,
       lr = unname(s$logtest), score = unname(s$sctest), wald = unname(fit$wald.test),
       se = unname(sqrt(diag(fit$var))), iter = fit$iter)
}
out <- list()
## every patient of the reference arm A censored before the first event
d <- read.csv("zero_info_reference_arm.csv")
for (t in c("efron", "breslow"))
  out[[paste0("reference_arm_", t)]] <- fit_summary(coxph(Surv(time, event) ~ group, data = d, ties = t))
## the reference arm censored before any event, and a continuous covariate that orders the
## deaths (monotone likelihood: R runs out of iterations)
d <- read.csv("zero_info_monotone.csv")
for (t in c("efron", "breslow"))
  out[[paste0("monotone_", t)]] <- fit_summary(suppressWarnings(
    coxph(Surv(time, event) ~ group + x, data = d, ties = t)))
## a level (f = b) and a 0/1 column (b) the events carry no information on, in a stratified
## fit that runs out of iterations (monotone likelihood): R marks no NA then, and both stay 0
d <- read.csv("zero_info_ran_out.csv"); d$f <- factor(d$f, levels = c("a", "b", "c"))
out$ran_out <- fit_summary(suppressWarnings(
  coxph(Surv(t, e) ~ x + f + b + strata(s), data = d, ties = "efron")))
## an interaction cell never at risk at an event
d <- read.csv("zero_info_interaction.csv")
r <- coxph(Surv(time, event) ~ arm + mod, data = d)
f <- coxph(Surv(time, event) ~ arm * mod, data = d)
a <- anova(r, f)
out$interaction_reduced <- fit_summary(r)
out$interaction_full <- fit_summary(f)
out$interaction_anova <- list(chisq = a$Chisq[2], df = a$Df[2])
writeLines(toJSON(out, digits = NA, na = "null", auto_unbox = TRUE, pretty = TRUE),
           "cox_singular.json")

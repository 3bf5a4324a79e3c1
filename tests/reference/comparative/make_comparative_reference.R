# Recomputes the comparative analyses of the study from the exported analysis dataset alone
# (analysis_dataset.csv of `poems-cohort run` on the bundled synthetic cohort, default plan).
# R 4.2.2, survival 3.5-3, cmprsk 2.2-11, nnet.
# Run from this folder: Rscript make_comparative_reference.R  -> comparative_reference.csv
suppressPackageStartupMessages({library(survival); library(cmprsk); library(nnet)})
d <- read.csv("analysis_dataset.csv", stringsAsFactors = FALSE)
regimens <- c("ASCT", "MDex", "LDex")          # reference first
d$regimen <- factor(d$regimen, levels = regimens)
subgroups <- list(all = c("low", "medium", "high"), low = "low",
                  "medium-high" = c("medium", "high"), high = "high")
mv <- grep("^mv_", names(d), value = TRUE)
# run Newton to full precision (the default eps = 1e-9 stops at about 1e-8 in the coefficients)
ctl <- coxph.control(eps = 1e-13, iter.max = 100)
out <- list()
add <- function(section, endpoint, subgroup, model, term, stat, value) {
  out[[length(out) + 1]] <<- data.frame(section = section, endpoint = endpoint,
    subgroup = subgroup, model = model, term = term, stat = stat, value = value)
}
endpoints <- list(PFS = c("pfs_months", "pfs_event"), OS = c("os_months", "os_event"))
for (ep in names(endpoints)) {
  tcol <- endpoints[[ep]][1]; ecol <- endpoints[[ep]][2]
  for (sg in names(subgroups)) {
    s <- d[d$risk_group %in% subgroups[[sg]], ]
    s$regimen <- droplevels(s$regimen)
    s$t <- s[[tcol]]; s$e <- s[[ecol]]
    used <- mv[sapply(mv, function(v) length(unique(s[[v]])) > 1)]
    fits <- list(
      unadjusted = coxph(Surv(t, e) ~ regimen, data = s, ties = "efron", control = ctl),
      "risk-stratified" = coxph(Surv(t, e) ~ regimen + strata(risk_group), data = s, control = ctl),
      multivariable = coxph(as.formula(paste("Surv(t, e) ~ regimen +",
                                             paste(used, collapse = " + "))), data = s,
                            control = ctl),
      iptw = coxph(Surv(t, e) ~ regimen, data = s, weights = iptw_weight, robust = TRUE,
                   control = ctl))
    for (m in names(fits)) {
      f <- fits[[m]]; sm <- summary(f)
      for (r in c("MDex", "LDex")) {
        nm <- paste0("regimen", r)
        add("hr", ep, sg, m, r, "hr", sm$conf.int[nm, "exp(coef)"])
        add("hr", ep, sg, m, r, "ci_low", sm$conf.int[nm, "lower .95"])
        add("hr", ep, sg, m, r, "ci_high", sm$conf.int[nm, "upper .95"])
        add("hr", ep, sg, m, r, "p_value", sm$coefficients[nm, ncol(sm$coefficients)])
      }
      z <- cox.zph(f, transform = "km", terms = TRUE)$table
      for (term in rownames(z)) {
        add("ph", ep, sg, m, term, "chisq", z[term, "chisq"])
        add("ph", ep, sg, m, term, "p_value", z[term, "p"])
      }
      if (m == "iptw") add("weighted_test", ep, sg, m, "", "robust_score", sm$robscore["test"])
    }
    km <- survfit(Surv(t, e) ~ regimen, data = s)
    tab <- summary(km, rmean = 36)$table
    for (r in levels(s$regimen)) {
      row <- paste0("regimen=", r)
      add("rmst", ep, sg, "", r, "rmst", tab[row, "rmean"])
      add("rmst", ep, sg, "", r, "se", tab[row, "se(rmean)"])
    }
  }
}
# IPTW-weighted Kaplan-Meier (all patients), log-log limits, R's default robust variance
for (ep in names(endpoints)) for (r in regimens) {
  s <- d[d$regimen == r, ]
  km <- survfit(Surv(s[[endpoints[[ep]][1]]], s[[endpoints[[ep]][2]]]) ~ 1,
                weights = s$iptw_weight, conf.type = "log-log")
  sm <- summary(km, times = c(12, 36, 60))
  for (j in seq_along(sm$time)) {
    add("weighted_km", ep, "all", as.character(sm$time[j]), r, "surv", sm$surv[j])
    add("weighted_km", ep, "all", as.character(sm$time[j]), r, "lower", sm$lower[j])
    add("weighted_km", ep, "all", as.character(sm$time[j]), r, "upper", sm$upper[j])
  }
}
# competing risks of response
for (r in c("crh", "crv")) {
  s <- d[!is.na(d[[paste0(r, "_cr_status")]]), ]
  ci <- cuminc(s[[paste0(r, "_cr_months")]], s[[paste0(r, "_cr_status")]],
               factor(s$regimen, levels = c("MDex", "ASCT", "LDex")), cencode = 0)
  tp <- timepoints(ci, c(6, 12))
  for (g in c("MDex", "ASCT", "LDex")) for (j in 1:2) {
    key <- paste(g, 1)
    add("cuminc", toupper(r), "all", "", g, paste0("estimate_", c(6, 12)[j]), tp$est[key, j])
    add("cuminc", toupper(r), "all", "", g, paste0("std_err_", c(6, 12)[j]),
        sqrt(tp$var[key, j]))
  }
  add("gray", toupper(r), "all", "", "", "statistic", ci$Tests["1", "stat"])
  add("gray", toupper(r), "all", "", "", "p_value", ci$Tests["1", "pv"])
}
# propensity: multinomial logit on the exported design columns, then a Newton polish is not
# needed at 1e-6 (nnet to convergence)
ps <- grep("^ps_", names(d), value = TRUE)
ps <- setdiff(ps, paste0("ps_", regimens))
mf <- multinom(as.formula(paste("regimen ~", paste(ps, collapse = " + "))), data = d,
               maxit = 2000, reltol = 1e-14, trace = FALSE)
p <- fitted(mf)
for (r in regimens) add("propensity", "", "all", "", r, "sum_log_p", sum(log(p[, r])))
write.csv(data.frame(patient_id = d$patient_id, p), "propensity_fitted.csv", row.names = FALSE)
# balance: SMD by hand, cobalt's pooled unweighted denominator
w <- d$iptw_weight
for (v in ps) for (r in c("MDex", "LDex")) {
  a <- d$regimen == r; b <- d$regimen == "ASCT"; x <- d[[v]]
  bin <- all(x %in% c(0, 1))
  va <- if (bin) mean(x[a]) * (1 - mean(x[a])) else var(x[a])
  vb <- if (bin) mean(x[b]) * (1 - mean(x[b])) else var(x[b])
  sdp <- sqrt((va + vb) / 2)
  add("balance", "", "all", "", r, paste0(sub("^ps_", "", v), "|unweighted"),
      (mean(x[a]) - mean(x[b])) / sdp)
  add("balance", "", "all", "", r, paste0(sub("^ps_", "", v), "|weighted"),
      (sum(w[a] * x[a]) / sum(w[a]) - sum(w[b] * x[b]) / sum(w[b])) / sdp)
}
# landmark analysis: CRV-evaluable, PFS beyond the landmark, CRV by the landmark
for (sg in c("all", "medium-high")) for (lm in c(6, 12)) {
  s <- d[d$risk_group %in% subgroups[[sg]] & d$crv_evaluable == 1 & d$pfs_months > lm, ]
  s$g <- as.integer(!is.na(s$crv) & s$crv == 1 & !is.na(s$crv_months) & s$crv_months <= lm)
  for (ep in names(endpoints)) {
    s$t <- s[[endpoints[[ep]][1]]] - lm; s$e <- s[[endpoints[[ep]][2]]]
    f <- summary(coxph(Surv(t, e) ~ g, data = s, control = ctl))
    add("landmark", ep, sg, as.character(lm), "CRV", "hr", f$conf.int["g", "exp(coef)"])
    add("landmark", ep, sg, as.character(lm), "CRV", "ci_low", f$conf.int["g", "lower .95"])
    add("landmark", ep, sg, as.character(lm), "CRV", "ci_high", f$conf.int["g", "upper .95"])
    add("landmark", ep, sg, as.character(lm), "CRV", "p_value", f$coefficients["g", "Pr(>|z|)"])
    sd <- survdiff(Surv(t, e) ~ g, data = s)
    add("landmark", ep, sg, as.character(lm), "CRV", "logrank_p",
        pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE))
    add("landmark", ep, sg, as.character(lm), "CRV", "n", sum(s$g == 1))
    add("landmark", ep, sg, as.character(lm), "No CRV", "n", sum(s$g == 0))
  }
}
# regimen x risk group interaction: likelihood-ratio test (anova of nested Cox models)
for (ep in names(endpoints)) {
  s <- d[!is.na(d$risk_group), ]
  s$t <- s[[endpoints[[ep]][1]]]; s$e <- s[[endpoints[[ep]][2]]]
  s$risk <- factor(s$risk_group, levels = c("low", "medium", "high"))
  f0 <- coxph(Surv(t, e) ~ regimen + risk, data = s, control = ctl)
  f1 <- coxph(Surv(t, e) ~ regimen * risk, data = s, control = ctl)
  a <- anova(f0, f1)
  add("interaction", ep, "all", "unadjusted", "", "statistic", a$Chisq[2])
  add("interaction", ep, "all", "unadjusted", "", "df", a$Df[2])
  add("interaction", ep, "all", "unadjusted", "", "p_value", a[["Pr(>|Chi|)"]][2])
}
# Table 2 effect sizes: Newcombe hybrid score (from prop.test's Wilson limits), fisher.test
# conditional OR and exact CI, Holm over the two comparisons with ASCT
wilson <- function(x, n) {
  if (n == 0) return(c(NA, NA))
  as.numeric(prop.test(x, n, correct = FALSE)$conf.int)
}
responses <- list(CRH = "crh", CRV = "crv", "CRH/CRV" = "crh_crv", RN = "rn")
for (rs in names(responses)) for (sg in names(subgroups)) {
  col <- responses[[rs]]
  s <- d[d$risk_group %in% subgroups[[sg]] & d[[paste0(col, "_evaluable")]] == 1, ]
  cnt <- function(r) c(sum(s$regimen == r & s[[col]] == 1), sum(s$regimen == r))
  ref <- cnt("ASCT")
  if (ref[2] == 0) next
  ps <- c(); keep <- c()
  for (r in c("MDex", "LDex")) {
    g <- cnt(r)
    if (g[2] == 0) next
    p1 <- g[1] / g[2]; p0 <- ref[1] / ref[2]
    w1 <- wilson(g[1], g[2]); w0 <- wilson(ref[1], ref[2])
    dd <- p1 - p0
    add("effects", rs, sg, "", r, "risk_difference", dd)
    add("effects", rs, sg, "", r, "rd_ci_low", dd - sqrt((p1 - w1[1])^2 + (w0[2] - p0)^2))
    add("effects", rs, sg, "", r, "rd_ci_high", dd + sqrt((w1[2] - p1)^2 + (p0 - w0[1])^2))
    ft <- fisher.test(matrix(c(g[1], g[2] - g[1], ref[1], ref[2] - ref[1]), 2, byrow = TRUE))
    add("effects", rs, sg, "", r, "odds_ratio", ft$estimate)
    add("effects", rs, sg, "", r, "or_ci_low", ft$conf.int[1])
    add("effects", rs, sg, "", r, "or_ci_high", ft$conf.int[2])
    add("effects", rs, sg, "", r, "p_value", ft$p.value)
    ps <- c(ps, ft$p.value); keep <- c(keep, r)
  }
  adj <- p.adjust(ps, "holm")
  for (k in seq_along(keep)) add("effects", rs, sg, "", keep[k], "p_holm", adj[k])
}
# Table 1 from the t1_* columns (what each row counts): per regimen and overall, the patients
# with the characteristic (n), with a known value (N) and unknown; a continuous row's median
t1 <- grep("^t1_", names(d), value = TRUE)
for (col in t1) for (g in c("All", regimens)) {
  v <- if (g == "All") d[[col]] else d[[col]][d$regimen == g]
  key <- sub("^t1_", "", col)
  if (all(is.na(v) | v %in% c(0, 1)) && !(key %in% c("age", "onls"))) {
    add("table1", "", "all", "", paste0(key, ":", g), "n", sum(v == 1, na.rm = TRUE))
    add("table1", "", "all", "", paste0(key, ":", g), "N", sum(!is.na(v)))
    add("table1", "", "all", "", paste0(key, ":", g), "unknown", sum(is.na(v)))
  } else {
    add("table1", "", "all", "", paste0(key, ":", g), "median", median(v, na.rm = TRUE))
  }
}
res <- do.call(rbind, out)
write.csv(format(res, digits = 17), "comparative_reference.csv", row.names = FALSE)

## ======================================================================
## The study's numbers computed with R, for tests/study/test_study_against_r.py.
##
## Input (this folder): cohort/patients.csv (the SYNTHETIC test cohort, seed 11) and
## analysis_dataset.csv (`poems-cohort derive cohort --out analysis_dataset.csv`).
## Output: study_reference.json. Deterministic, no timestamps, numbers at full precision
## (jsonlite digits = NA). Needs R >= 4.2, survival and jsonlite only.
##
##   Rscript tests/reference/study/make_study_reference.R
## ======================================================================
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
options(warn = 1, stringsAsFactors = FALSE)

here <- local({
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f) == 1) dirname(normalizePath(sub("^--file=", "", f))) else getwd()
})

REGIMENS <- c("MDex", "ASCT", "LDex")
REFERENCE <- "ASCT"
OTHERS <- setdiff(REGIMENS, REFERENCE)
GROUPS <- c("All", REGIMENS)
SUBGROUPS <- list(all = NULL, low = "low", `medium-high` = c("medium", "high"), high = "high")
LANDMARK <- 36
RESPONSE_LANDMARKS <- c(6, 12)
## Later landmarks, past the end of some curves, where summary(extend = TRUE) carries the last
## value forward (the study reports no rate there: see the README)
LATE_LANDMARK <- 120
LATE_RESPONSE_LANDMARK <- 60

ds <- read.csv(file.path(here, "analysis_dataset.csv"), na.strings = "")
pt <- read.csv(file.path(here, "cohort", "patients.csv"), na.strings = "",
               colClasses = c(patient_id = "character"))
## Table 1 covers the included patients: those of the analysis dataset (eligibility applied).
pt <- pt[pt$patient_id %in% ds$patient_id, ]
pt <- merge(pt, ds[, c("patient_id", "risk_group")], by = "patient_id", all.x = TRUE,
            sort = FALSE)
stopifnot(nrow(pt) == nrow(ds), !anyNA(pt$egfr))

is1 <- function(x) !is.na(x) & x == 1            # missing counts as no (a flag)
in_subgroup <- function(d, groups) {
  if (is.null(groups)) d else d[!is.na(d$risk_group) & d$risk_group %in% groups, ]
}
part_of <- function(d, g) if (g == "All") d else d[d$regimen == g, ]

## ---------------------------------------------------------------- contingency tables
## The policy drops rows and columns without patients first; a table left smaller than 2 x 2
## is not testable. R gives the Pearson test (no continuity correction), Fisher's exact test and
## the expected counts of the table as tested.
table_tests <- function(counts) {
  counts <- as.matrix(counts)
  t <- counts[rowSums(counts) > 0, colSums(counts) > 0, drop = FALSE]
  out <- list(counts = counts, tested_shape = dim(t))
  if (nrow(t) < 2 || ncol(t) < 2) {
    out$testable <- FALSE
    return(out)
  }
  ch <- suppressWarnings(chisq.test(t, correct = FALSE))
  out$testable <- TRUE
  out$expected <- unname(ch$expected)
  out$min_expected <- min(ch$expected)
  out$chisq <- list(statistic = unname(ch$statistic), df = unname(ch$parameter),
                    p = ch$p.value)
  out$fisher_p <- fisher.test(t, workspace = 2e8)$p.value
  out
}

## ---------------------------------------------------------------- Table 1
num_rule <- function(col, op, thr) function(d) {
  x <- as.numeric(d[[col]])
  if (op == ">") x > thr else x < thr                # NA stays NA (unknown)
}
flag_rule <- function(col) function(d) {
  x <- d[[col]]
  stopifnot(all(is.na(x) | x %in% c("yes", "no")))
  x == "yes"
}
eq_rule <- function(col, value) function(d) d[[col]] == value
CHARACTERISTICS <- list(
  age_gt_50 = num_rule("age", ">", 50), male = eq_rule("sex", "M"),
  onls_gt_4 = num_rule("onls", ">", 4), hepatomegaly = flag_rule("hepatomegaly"),
  splenomegaly = flag_rule("splenomegaly"), lymphadenopathy = flag_rule("lymphadenopathy"),
  iga_heavy_chain = eq_rule("heavy_chain", "IgA"), spe_gt_5 = num_rule("spe_g_l", ">", 5),
  bmpc_gt_10 = num_rule("bmpc_pct", ">", 10), angioma = flag_rule("angioma"),
  peripheral_edema = flag_rule("peripheral_edema"), ascites = flag_rule("ascites"),
  pleural_effusion = flag_rule("pleural_effusion"), castleman = flag_rule("castleman"),
  papilledema = flag_rule("papilledema"), osteosclerosis = flag_rule("osteosclerosis"),
  albumin_lt_30 = num_rule("albumin_g_l", "<", 30), egfr_lt_30 = num_rule("egfr", "<", 30),
  urine_protein_gt_1 = num_rule("urine_protein_g_24h", ">", 1),
  vegf_gt_4000 = num_rule("vegf_pg_ml", ">", 4000),
  risk_low = eq_rule("risk_group", "low"), risk_medium = eq_rule("risk_group", "medium"),
  risk_high = eq_rule("risk_group", "high")
)

table1 <- lapply(names(CHARACTERISTICS), function(key) {
  yes <- CHARACTERISTICS[[key]](pt)
  known <- !is.na(yes)
  counts <- t(sapply(REGIMENS, function(r) {
    c(sum(known & yes & pt$regimen == r), sum(known & !yes & pt$regimen == r))
  }))
  n_by <- lapply(GROUPS, function(g) {
    m <- if (g == "All") rep(TRUE, nrow(pt)) else pt$regimen == g
    list(regimen = g, n = sum(known & yes & m), N = sum(known & m))
  })
  c(list(key = key, groups = n_by), table_tests(counts))
})
risk_counts <- t(sapply(REGIMENS, function(r) {
  sapply(c("low", "medium", "high"), function(g) sum(!is.na(pt$risk_group) &
                                                    pt$risk_group == g & pt$regimen == r))
}))
table1_risk_3x3 <- table_tests(risk_counts)

table1_continuous <- lapply(c("age", "onls"), function(col) {
  lapply(GROUPS, function(g) {
    x <- as.numeric(part_of(pt, g)[[col]])
    x <- x[!is.na(x)]
    list(column = col, regimen = g, N = length(x), median = median(x), min = min(x),
         max = max(x))
  })
})
table1_continuous <- do.call(c, table1_continuous)

## ---------------------------------------------------------------- Table 2 responses
RESPONSES <- list(CRH = c("crh", "crh_evaluable"), CRV = c("crv", "crv_evaluable"),
                  `CRH/CRV` = c("crh_crv", "crh_crv_evaluable"), RN = c("rn", "rn_evaluable"))
counts_of <- function(d, col, ev) {
  e <- is1(d[[ev]])
  c(n = sum(e & is1(d[[col]])), N = sum(e))
}
wilson <- function(x, n) {
  if (n == 0) return(list(estimate = NA, lower = NA, upper = NA))
  ci <- suppressWarnings(prop.test(x, n, correct = FALSE))$conf.int
  list(estimate = x / n, lower = ci[1], upper = ci[2])
}

table2 <- list()
for (endpoint in names(RESPONSES)) {
  col <- RESPONSES[[endpoint]][1]
  ev <- RESPONSES[[endpoint]][2]
  for (sg in names(SUBGROUPS)) {
    d <- in_subgroup(ds, SUBGROUPS[[sg]])
    cnt <- lapply(setNames(GROUPS, GROUPS), function(g) counts_of(part_of(d, g), col, ev))
    by_group <- lapply(GROUPS, function(g) {
      c(list(regimen = g, n = unname(cnt[[g]]["n"]), N = unname(cnt[[g]]["N"])),
        wilson(cnt[[g]]["n"], cnt[[g]]["N"]))
    })
    two_by_two <- function(r) rbind(c(cnt[[r]]["n"], cnt[[r]]["N"] - cnt[[r]]["n"]),
                                    c(cnt[[REFERENCE]]["n"],
                                      cnt[[REFERENCE]]["N"] - cnt[[REFERENCE]]["n"]))
    table2[[length(table2) + 1]] <- list(
      endpoint = endpoint, subgroup = sg, groups = by_group,
      overall = table_tests(do.call(rbind, lapply(REGIMENS, function(r) {
        c(cnt[[r]]["n"], cnt[[r]]["N"] - cnt[[r]]["n"])
      }))),
      vs_reference = lapply(setNames(OTHERS, OTHERS), function(r) table_tests(two_by_two(r)))
    )
  }
}

## ---------------------------------------------------------------- survival
km <- function(time, event, conf.type = "log-log") {
  survfit(Surv(time, event) ~ 1, conf.type = conf.type)
}
median_of <- function(fit) {
  tab <- summary(fit)$table
  list(median = unname(tab["median"]), lower = unname(tab["0.95LCL"]),
       upper = unname(tab["0.95UCL"]))
}
logrank <- function(d, time, event, group) {
  g <- factor(group)
  if (nlevels(g) < 2) return(list(testable = FALSE))
  sd <- survdiff(Surv(d[[time]], d[[event]]) ~ g)
  df <- sum(sd$exp > 0) - 1
  list(testable = TRUE, statistic = sd$chisq, df = df,
       p = pchisq(sd$chisq, df, lower.tail = FALSE))
}

ENDPOINTS <- list(PFS = c("pfs_months", "pfs_event"), OS = c("os_months", "os_event"))
survival <- list()
survival_tests <- list()
for (endpoint in names(ENDPOINTS)) {
  time <- ENDPOINTS[[endpoint]][1]
  event <- ENDPOINTS[[endpoint]][2]
  for (sg in names(SUBGROUPS)) {
    d <- in_subgroup(ds, SUBGROUPS[[sg]])
    for (g in GROUPS) {
      p <- part_of(d, g)
      fit <- km(p[[time]], p[[event]])
      s <- summary(fit, times = LANDMARK, extend = TRUE)
      late <- summary(fit, times = LATE_LANDMARK, extend = TRUE)
      survival[[length(survival) + 1]] <- list(
        endpoint = endpoint, subgroup = sg, regimen = g, N = nrow(p), events = sum(p[[event]]),
        max_time = max(p[[time]]), surv = s$surv, lower = s$lower, upper = s$upper,
        median = median_of(fit),
        late = list(time = LATE_LANDMARK, surv = late$surv, lower = late$lower,
                    upper = late$upper))
    }
    survival_tests[[length(survival_tests) + 1]] <- list(
      endpoint = endpoint, subgroup = sg, overall = logrank(d, time, event, d$regimen),
      vs_reference = lapply(setNames(OTHERS, OTHERS), function(r) {
        p <- d[d$regimen %in% c(r, REFERENCE), ]
        logrank(p, time, event, p$regimen)
      }))
  }
}

## PFS and OS by CRV status among the CRV-evaluable medium-high risk patients
mh <- in_subgroup(ds, SUBGROUPS[["medium-high"]])
mh <- mh[is1(mh$crv_evaluable), ]
crv_status <- ifelse(is1(mh$crv), "CRV", "No CRV")
by_crv <- lapply(ENDPOINTS, function(e) {
  c(list(n_crv = sum(crv_status == "CRV"), n_no_crv = sum(crv_status == "No CRV")),
    logrank(mh, e[1], e[2], crv_status))
})

## ---------------------------------------------------------------- follow-up and events
followup <- lapply(GROUPS, function(g) {
  p <- part_of(ds, g)
  rk <- median_of(survfit(Surv(p$os_months, 1 - p$os_event) ~ 1, conf.type = "log"))
  list(regimen = g, N = sum(!is.na(p$followup_months)),
       median = median(p$followup_months), min = min(p$followup_months),
       max = max(p$followup_months), reverse_km = rk)
})
events <- lapply(GROUPS, function(g) {
  p <- part_of(ds, g)
  list(regimen = g, patients = nrow(p), deaths = sum(p$death),
       treatment_related_deaths = sum(p$treatment_related_death),
       progressions_alive = sum(p$progression == 1 & p$death == 0),
       secondary_malignancies = sum(p$secondary_malignancy, na.rm = TRUE),
       secondary_malignancy_known = sum(!is.na(p$secondary_malignancy)),
       person_years = sum(p$followup_months) / 12)
})

## ---------------------------------------------------------------- response kinetics
KINETICS <- list(CRH = c("crh", "crh_evaluable", "crh_months", "crh_last_months"),
                 CRV = c("crv", "crv_evaluable", "crv_months", "crv_last_months"))
kinetics <- list()
for (resp in names(KINETICS)) {
  k <- KINETICS[[resp]]
  for (g in GROUPS) {
    p <- part_of(ds, g)
    p <- p[is1(p[[k[2]]]), ]
    hit <- is1(p[[k[1]]])
    rt <- p[[k[3]]][hit]
    rt <- rt[!is.na(rt)]
    time <- ifelse(hit, p[[k[3]]], p[[k[4]]])
    event <- as.integer(hit)
    keep <- !is.na(time)
    fit <- km(time[keep], event[keep])
    s <- summary(fit, times = RESPONSE_LANDMARKS, extend = TRUE)
    late <- summary(fit, times = LATE_RESPONSE_LANDMARK, extend = TRUE)
    kinetics[[length(kinetics) + 1]] <- list(
      response = resp, regimen = g, evaluable = nrow(p), responders = length(rt),
      median = if (length(rt)) median(rt) else NA, min = if (length(rt)) min(rt) else NA,
      max = if (length(rt)) max(rt) else NA, max_time = max(time[keep]),
      month = s$time, surv = s$surv, lower = s$lower, upper = s$upper,
      cumulative = 1 - s$surv, cumulative_lower = 1 - s$upper, cumulative_upper = 1 - s$lower,
      late = list(month = LATE_RESPONSE_LANDMARK, surv = late$surv, cumulative = 1 - late$surv,
                  cumulative_lower = 1 - late$upper, cumulative_upper = 1 - late$lower))
  }
}

out <- list(
  software = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  patients = nrow(ds),
  table1 = table1, table1_risk_3x3 = table1_risk_3x3, table1_continuous = table1_continuous,
  table2 = table2,
  survival = survival, survival_tests = survival_tests, by_crv = by_crv,
  followup = followup, events = events,
  kinetics = kinetics
)
write_json(out, file.path(here, "study_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")

## ======================================================================
## R's numbers for a centre's own plan (plan.toml): four of five regimens under the centre's
## names, custom Table 1 rows on extra baseline columns, a subgroup by centre. Read by
## tests/study/test_any_plan_against_r.py.
##
## Input (this folder): cohort/patients.csv (SYNTHETIC, made by make_cohort.py) and
## analysis_dataset.csv (`poems-cohort derive cohort --plan plan.toml --out
## analysis_dataset.csv`). Output: any_plan_reference.json. Deterministic; R >= 4.2 with
## survival and jsonlite only.
##
##   Rscript tests/reference/study/any_plan/make_any_plan_reference.R
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

REGIMENS <- c("Lenalidomide-dex", "Auto-HCT", "Bortezomib-dex", "Daratumumab")
REFERENCE <- "Auto-HCT"
OTHERS <- setdiff(REGIMENS, REFERENCE)
GROUPS <- c("All", REGIMENS)
LANDMARK <- 36

ds <- read.csv(file.path(here, "analysis_dataset.csv"), na.strings = "",
               colClasses = c(patient_id = "character"))
pt <- read.csv(file.path(here, "cohort", "patients.csv"), na.strings = "",
               colClasses = c(patient_id = "character"))
stopifnot(all(sort(unique(ds$regimen)) == sort(REGIMENS)))
## excluded: the patients on a regimen outside the plan (Radiotherapy)
excluded <- as.list(table(pt$regimen[!pt$regimen %in% REGIMENS]))
pt <- pt[pt$patient_id %in% ds$patient_id, ]
stopifnot(nrow(pt) == nrow(ds))
## the subgroup by centre, from the baseline columns
ds$centre <- NULL  # the export carries it too (the subgroup's column); taken from the cohort here
ds <- merge(ds, pt[, c("patient_id", "centre")], by = "patient_id", sort = FALSE)
SUBGROUPS <- list(all = function(d) d,
                  north = function(d) d[!is.na(d$centre) & d$centre == "North", ],
                  high = function(d) d[!is.na(d$risk_group) & d$risk_group == "high", ])

is1 <- function(x) !is.na(x) & x == 1
part_of <- function(d, g) if (g == "All") d else d[d$regimen == g, ]

## The plan's test policy "exact": empty rows and columns dropped; Fisher's exact test (any
## r x c) when an expected count is below 5, else Pearson's chi-square without correction.
exact_policy <- function(counts) {
  counts <- as.matrix(counts)
  t <- counts[rowSums(counts) > 0, colSums(counts) > 0, drop = FALSE]
  if (nrow(t) < 2 || ncol(t) < 2) return(list(testable = FALSE))
  ch <- suppressWarnings(chisq.test(t, correct = FALSE))
  if (min(ch$expected) < 5) {
    return(list(testable = TRUE, test = "fisher",
                p = fisher.test(t, workspace = 2e8)$p.value))
  }
  list(testable = TRUE, test = "pearson", statistic = unname(ch$statistic),
       df = unname(ch$parameter), p = ch$p.value)
}

## ---------------------------------------------------------------- Table 1 (custom rows)
yesno <- function(x) ifelse(is.na(x), NA, x == "yes")
ROWS <- list(
  male = function(d) d$sex == "M",
  prior_radiation = function(d) yesno(d$prior_radiation),
  centre_north = function(d) d$centre == "North",
  centre_south = function(d) d$centre == "South",
  centre_east = function(d) d$centre == "East",
  vegf_1000_pg_ml = function(d) as.numeric(d$vegf_pg_ml) > 1000,
  albumin_30_g_l = function(d) as.numeric(d$albumin_g_l) < 30
)
table1 <- lapply(names(ROWS), function(key) {
  yes <- ROWS[[key]](pt)
  known <- !is.na(yes)
  counts <- t(sapply(REGIMENS, function(r) {
    c(sum(known & yes & pt$regimen == r), sum(known & !yes & pt$regimen == r))
  }))
  groups <- lapply(GROUPS, function(g) {
    m <- if (g == "All") rep(TRUE, nrow(pt)) else pt$regimen == g
    list(regimen = g, n = sum(known & yes & m), N = sum(known & m), unknown = sum(!known & m))
  })
  list(key = key, groups = groups, test = exact_policy(counts))
})
centre_counts <- t(sapply(REGIMENS, function(r) {
  sapply(c("North", "South", "East"), function(v) sum(!is.na(pt$centre) & pt$centre == v &
                                                       pt$regimen == r))
}))
table1_centre <- exact_policy(centre_counts)

ecog <- as.numeric(pt$ecog)
ecog_groups <- lapply(GROUPS, function(g) {
  x <- if (g == "All") ecog else ecog[pt$regimen == g]
  q <- quantile(x, c(0.25, 0.75), type = 7)
  list(regimen = g, N = length(x), median = median(x), q1 = unname(q[1]), q3 = unname(q[2]),
       min = min(x), max = max(x), mean = mean(x), sd = sd(x))
})
in_plan <- pt$regimen %in% REGIMENS
kw <- kruskal.test(ecog ~ factor(pt$regimen))
aov <- oneway.test(ecog ~ factor(pt$regimen), var.equal = TRUE)
mw <- lapply(setNames(OTHERS, OTHERS), function(r) {
  w <- suppressWarnings(wilcox.test(ecog[pt$regimen == r], ecog[pt$regimen == REFERENCE]))
  list(statistic = unname(w$statistic), p = w$p.value)
})
table1_ecog <- list(groups = ecog_groups,
                    kruskal = list(statistic = unname(kw$statistic),
                                   df = unname(kw$parameter), p = kw$p.value),
                    anova = list(statistic = unname(aov$statistic), p = aov$p.value),
                    mann_whitney = mw)

## ---------------------------------------------------------------- Table 2 responses
RESPONSES <- list(CRH = c("crh", "crh_evaluable"), CRV = c("crv", "crv_evaluable"),
                  `CRH/CRV` = c("crh_crv", "crh_crv_evaluable"), RN = c("rn", "rn_evaluable"))
table2 <- list()
for (endpoint in names(RESPONSES)) {
  col <- RESPONSES[[endpoint]][1]
  ev <- RESPONSES[[endpoint]][2]
  for (sg in names(SUBGROUPS)) {
    d <- SUBGROUPS[[sg]](ds)
    cnt <- lapply(setNames(GROUPS, GROUPS), function(g) {
      p <- part_of(d, g)
      e <- is1(p[[ev]])
      c(n = sum(e & is1(p[[col]])), N = sum(e))
    })
    ref <- cnt[[REFERENCE]]
    table2[[length(table2) + 1]] <- list(
      endpoint = endpoint, subgroup = sg,
      groups = lapply(GROUPS, function(g) list(regimen = g, n = unname(cnt[[g]]["n"]),
                                                N = unname(cnt[[g]]["N"]))),
      overall = exact_policy(do.call(rbind, lapply(REGIMENS, function(r) {
        c(cnt[[r]]["n"], cnt[[r]]["N"] - cnt[[r]]["n"])
      }))),
      vs_reference = lapply(setNames(OTHERS, OTHERS), function(r) {
        exact_policy(rbind(c(cnt[[r]]["n"], cnt[[r]]["N"] - cnt[[r]]["n"]),
                           c(ref["n"], ref["N"] - ref["n"])))
      }))
  }
}

## ---------------------------------------------------------------- survival
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
    d <- SUBGROUPS[[sg]](ds)
    for (g in GROUPS) {
      p <- part_of(d, g)
      fit <- survfit(Surv(p[[time]], p[[event]]) ~ 1, conf.type = "log-log")
      s <- summary(fit, times = LANDMARK, extend = TRUE)
      tab <- summary(fit)$table
      survival[[length(survival) + 1]] <- list(
        endpoint = endpoint, subgroup = sg, regimen = g, N = nrow(p),
        events = sum(p[[event]]), max_time = max(p[[time]]),
        surv = s$surv, lower = s$lower, upper = s$upper,
        median = unname(tab["median"]), median_lower = unname(tab["0.95LCL"]),
        median_upper = unname(tab["0.95UCL"]),
        curve = list(time = fit$time, surv = fit$surv, lower = fit$lower, upper = fit$upper,
                     n_risk = fit$n.risk, n_event = fit$n.event))
    }
    survival_tests[[length(survival_tests) + 1]] <- list(
      endpoint = endpoint, subgroup = sg, overall = logrank(d, time, event, d$regimen),
      vs_reference = lapply(setNames(OTHERS, OTHERS), function(r) {
        p <- d[d$regimen %in% c(r, REFERENCE), ]
        logrank(p, time, event, p$regimen)
      }))
  }
}
north <- SUBGROUPS$north(ds)
north <- north[is1(north$crv_evaluable), ]
crv_status <- ifelse(is1(north$crv), "CRV", "No CRV")
by_crv <- lapply(ENDPOINTS, function(e) logrank(north, e[1], e[2], crv_status))

out <- list(
  software = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  patients = nrow(ds), excluded = excluded,
  table1 = table1, table1_centre = table1_centre, table1_ecog = table1_ecog,
  table2 = table2, survival = survival, survival_tests = survival_tests, by_crv = by_crv)
write_json(out, file.path(here, "any_plan_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")

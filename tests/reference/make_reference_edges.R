## ======================================================================
## Edge cases of the statistics, checked against R: make_reference_edges.R -> edges.json
## Requires: R >= 4.2, survival (3.5-3), cmprsk (2.2-11). No other packages.
## The JSON helpers below are copied from make_reference.R (same conventions:
## NA -> null; NaN -> "NaN"; +Inf -> "Inf"; -Inf -> "-Inf"; numbers printed with
## %.15g when that round-trips exactly, else %.17g). The data are written into the
## JSON next to the results, so the tests need nothing else.
## ======================================================================
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
options(warn = 1, stringsAsFactors = FALSE)

## output folder = folder of this script (override with first trailing arg)
get_outdir <- function() {
  a <- commandArgs(trailingOnly = TRUE)
  if (length(a) >= 1) return(normalizePath(a[1], mustWork = TRUE))
  f <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(f) == 1) return(dirname(normalizePath(sub("^--file=", "", f))))
  getwd()
}

## ---------------------------------------------------------------- JSON
json_num <- function(x) {
  x <- as.double(x)
  s <- sprintf("%.15g", x)
  ok <- is.finite(x)
  bad <- ok & (suppressWarnings(as.numeric(s)) != x)
  bad[is.na(bad)] <- FALSE
  s[bad] <- sprintf("%.17g", x[bad])
  s[is.na(x) & !is.nan(x)] <- "null"
  s[is.nan(x)] <- "\"NaN\""
  s[is.infinite(x) & x > 0] <- "\"Inf\""
  s[is.infinite(x) & x < 0] <- "\"-Inf\""
  s
}
json_str <- function(x) {
  x <- as.character(x)
  na <- is.na(x)
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\"", "\\\"", x, fixed = TRUE)
  x <- gsub("\n", "\\n", x, fixed = TRUE)
  x <- gsub("\t", "\\t", x, fixed = TRUE)
  out <- paste0("\"", x, "\"")
  out[na] <- "null"
  out
}
## arr(): force a JSON array even for length-1 vectors
arr <- function(x) { x <- as.vector(x); if (is.factor(x)) x <- as.character(x); I(x) }
to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent); pad2 <- strrep(" ", indent + 1)
  if (is.null(x)) return("null")
  if (is.list(x) && !is.data.frame(x)) {
    nm <- names(x)
    if (length(x) == 0) return(if (is.null(nm)) "[]" else "{}")
    items <- vapply(x, to_json, "", indent = indent + 1, USE.NAMES = FALSE)
    if (!is.null(nm))
      return(paste0("{\n", paste0(pad2, json_str(nm), ": ", items, collapse = ",\n"), "\n", pad, "}"))
    return(paste0("[\n", paste0(pad2, items, collapse = ",\n"), "\n", pad, "]"))
  }
  if (is.matrix(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) arr(unname(x[i, ])))
    if (length(rows) == 0) return("[]")
    return(paste0("[", paste(vapply(rows, to_json, ""), collapse = ", "), "]"))
  }
  asis <- inherits(x, "AsIs")
  x <- unclass(x); attributes(x) <- NULL
  if (length(x) == 0) return("[]")
  if (is.factor(x)) x <- as.character(x)
  vals <- if (is.logical(x)) { v <- ifelse(x, "true", "false"); v[is.na(x)] <- "null"; v }
          else if (is.numeric(x)) json_num(x)
          else json_str(x)
  if (length(vals) == 1 && !asis) return(vals)
  paste0("[", paste(vals, collapse = ", "), "]")
}
write_json <- function(x, path) writeLines(to_json(x), path, useBytes = TRUE)


with_warnings <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(expr, warning = function(cond) {
    w <<- c(w, conditionMessage(cond)); invokeRestart("muffleWarning") })
  list(value = val, warnings = w)
}
data_json <- function(d) { o <- lapply(d, function(v) arr(if (is.factor(v)) as.character(v) else v)); o }
test_list <- function(v) if (is.null(v)) NULL else
  list(stat = unname(v["test"]), df = unname(v["df"]), p = unname(v["pvalue"]))

## ---------------------------------------------------------------- Cox
## A Cox fit at R's defaults, plus (for a finite fit) the values after 3 further Newton steps
## from R's estimate (as cox_polish in make_reference.R), so a fully converged fit can be
## checked tightly.
cox_fit <- function(formula, d, ties, weights = NULL, robust = FALSE) {
  fml <- as.formula(formula)
  if (!is.null(weights)) d$.w <- d[[weights]]
  fit_at <- function(init = NULL, iter = 20) {
    args <- list(fml, data = d, ties = ties, robust = robust,
                 control = coxph.control(iter.max = iter))
    if (!is.null(init)) args$init <- init
    if (!is.null(weights)) args$weights <- d$.w
    do.call(coxph, args)
  }
  r <- with_warnings(fit_at())
  fit <- r$value
  s <- summary(fit)
  b <- coef(fit)
  out <- list(formula = formula, ties = ties, weights = weights, robust = robust, n = fit$n,
              nevent = fit$nevent, coef_names = arr(names(b)), coef = arr(unname(b)),
              se = arr(sqrt(diag(if (robust) fit$naive.var else fit$var))),
              robust_se = if (robust) arr(sqrt(diag(fit$var))) else NULL,
              loglik_null = fit$loglik[1], loglik_final = fit$loglik[2],
              lr = test_list(s$logtest), score = test_list(s$sctest),
              iter = fit$iter, warnings = arr(r$warnings), polished = NULL)
  if (length(r$warnings) == 0) {
    score_vec <- function(f) colSums(as.matrix(residuals(f, type = "score", weighted = TRUE)))
    f0 <- suppressWarnings(fit_at(b, 0))
    for (k in 1:3) {
      V <- if (robust) f0$naive.var else f0$var
      b <- b + as.vector(V %*% score_vec(f0))
      f0 <- suppressWarnings(fit_at(b, 0))
    }
    V <- if (robust) f0$naive.var else f0$var
    out$polished <- list(coef = arr(unname(b)), se = arr(sqrt(diag(V))),
                         robust_se = if (robust) arr(sqrt(diag(f0$var))) else NULL,
                         loglik_final = f0$loglik[2], lr_stat = 2 * (f0$loglik[2] - fit$loglik[1]),
                         max_abs_score = max(abs(score_vec(f0))))
  }
  out
}
cox_case <- function(d, formulas, weights = NULL, robust = FALSE, note = "") {
  models <- list()
  for (f in formulas) {
    m <- list()
    for (ti in c("efron", "breslow")) m[[ti]] <- cox_fit(f, d, ti, weights, robust)
    models[[f]] <- m
  }
  list(note = note, data = data_json(d), models = models)
}

set.seed(8)
n <- 40
s <- rep(c("a", "b"), each = n / 2)
x <- round(ifelse(s == "a", 500, -500) + rnorm(n), 6)
t <- round(rexp(n, exp(0.8 * (x - ifelse(s == "a", 500, -500)))) * 10) + 1
e <- rbinom(n, 1, 0.8)
span <- data.frame(time = t, event = e, x = x, s = s)

mono_ties <- data.frame(time = c(1, 2, 2, 3, 4, 4, 5, 6, 7, 8), event = c(1, 1, 1, 0, 1, 1, 1, 0, 1, 0),
                        x = c(10, 9, 9, 8.5, 7, 7, 6, 5.5, 4, 3),
                        z = c(0.3, -1, 0.2, 1.5, -0.4, 0.8, 0.1, -0.7, 1.1, 0.5))
mono_both <- data.frame(time = 1:8, event = c(1, 1, 0, 1, 1, 0, 1, 1), x = c(8, 7, 7.5, 5, 4, 4.5, 2, 1),
                        z = c(0.3, -1, 0.2, 1.5, -0.4, 0.8, 0.1, -0.7))
mono_binary <- data.frame(time = 1:10, event = c(1, 0, 1, 1, 0, 1, 1, 0, 1, 0),
                          x = c(1, 0, 1, 1, 0, 1, 0, 0, 0, 0),
                          z = c(0.3, -1, 0.2, 1.5, -0.4, 0.8, 0.1, -0.7, 1.1, 0.5))
one_level <- data.frame(time = c(1, 2, 2, 3, 4, 5, 6, 7, 8, 9), event = c(1, 0, 1, 1, 1, 0, 1, 1, 0, 1),
                        g = factor(c("a", "b", "a", "c", "b", "a", "b", "a", "b", "a")),
                        x = c(0.5, -1.2, 0.3, 0.9, 1.4, -0.2, 0.1, -0.8, 0.6, 1.1))
at_zero <- data.frame(time = c(0, 0, 0, 1, 2, 2, 3, 4, 5, 6), event = c(1, 1, 0, 1, 1, 1, 0, 1, 0, 1),
                      x = c(1.2, 0.4, -0.5, 0.8, -1.1, 0.2, 0.9, -0.3, 0.0, -0.7))
censored_level <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7), event = c(1, 0, 1, 1, 0, 0, 0),
                             g = factor(c("a", "a", "a", "b", "b", "c", "c")))

## zero weights under Efron ties: R refuses weights <= 0, so the reference is the fit on the
## rows with a positive weight; the data keep the weight-0 rows (deaths among them, tied with
## deaths of positive weight).
set.seed(81)
nz <- 60
zw <- data.frame(time = sample(1:12, nz, replace = TRUE), event = rbinom(nz, 1, 0.7),
                 x = round(rnorm(nz), 4), g = factor(sample(c("A", "B"), nz, replace = TRUE)),
                 w = round(runif(nz, 0.5, 2), 3))
zw$w[c(3, 7, 11, 19, 23, 31, 40, 52)] <- 0
zw$event[c(3, 7, 11, 19)] <- 1
zw_pos <- zw[zw$w > 0, ]
zero_weights <- cox_case(zw_pos, c("Surv(time, event) ~ x + g"), weights = "w",
                         note = "fitted on the rows with w > 0; data_all keeps the weight-0 rows")
zero_weights$data_all <- data_json(zw)
zero_weights_robust <- cox_case(zw_pos, c("Surv(time, event) ~ x + g"), weights = "w", robust = TRUE,
                                note = "as zero_weights, robust = TRUE")
zero_weights_robust$data_all <- data_json(zw)

cox <- list(
  span_strata = cox_case(span, c("Surv(time, event) ~ x + strata(s)"),
                         note = "x near +500 in stratum a, -500 in b: x beta spans > 1000"),
  monotone_ties = cox_case(mono_ties, c("Surv(time, event) ~ x", "Surv(time, event) ~ x + z"),
                           note = "x orders every death; tied deaths; R runs out of iterations"),
  monotone_both = cox_case(mono_both, c("Surv(time, event) ~ x + z"),
                           note = "x and z together order every death; linear predictor > 500"),
  monotone_binary = cox_case(mono_binary, c("Surv(time, event) ~ x + z"),
                             note = "loglik converges before variable 1"),
  censored_level = cox_case(censored_level, c("Surv(time, event) ~ g"),
                            note = "level c has no event"),
  group_of_one = cox_case(one_level, c("Surv(time, event) ~ g + x"),
                          note = "level c has one subject (an event): a finite fit"),
  events_at_zero = cox_case(at_zero, c("Surv(time, event) ~ x"),
                            note = "tied events (and a censoring) at time 0"),
  zero_weights = zero_weights,
  zero_weights_robust = zero_weights_robust)

## ---------------------------------------------------------------- log-rank
sd_case <- function(d) {
  r <- tryCatch(with_warnings(survdiff(Surv(time, event) ~ group, data = d)), error = function(e) e)
  out <- list(data = data_json(d))
  if (inherits(r, "error")) { out$error <- conditionMessage(r); return(out) }
  f <- r$value
  df <- sum(f$exp > 0) - 1
  c(out, list(chisq = f$chisq, df = df, p = suppressWarnings(pchisq(f$chisq, df, lower.tail = FALSE)),
              obs = arr(f$obs), exp = arr(f$exp), warnings = arr(r$warnings)))
}
logrank <- list(
  no_events = sd_case(data.frame(time = c(1, 2, 3, 4, 5), event = 0, group = c("a", "b", "a", "b", "a"))),
  same_time = sd_case(data.frame(time = rep(13, 6), event = 1, group = c("a", "b", "a", "b", "a", "b"))),
  one_group_at_risk = sd_case(data.frame(time = c(1, 2, 3), event = c(0, 1, 1), group = c("B", "A", "A"))),
  events_at_zero = sd_case(data.frame(time = c(0, 0, 0, 2, 3, 5), event = c(1, 1, 0, 1, 0, 1),
                                      group = c("a", "b", "a", "b", "a", "b"))),
  group_of_one = sd_case(data.frame(time = c(1, 2, 3, 4, 5, 6, 7), event = c(1, 0, 1, 1, 0, 1, 1),
                                    group = c("a", "b", "a", "c", "b", "a", "b"))),
  censored_group = sd_case(data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8), event = c(1, 0, 1, 0, 1, 0, 0, 0),
                                      group = c("a", "b", "a", "b", "a", "b", "a", "b"))))

## ---------------------------------------------------------------- Gray's test
gray_case <- function(time, status, group) {
  ci <- cuminc(time, status, group, cencode = 0)
  tst <- ci$Tests
  tests <- lapply(rownames(tst), function(cc) list(cause = as.integer(cc), stat = unname(tst[cc, "stat"]),
                                                   p = unname(tst[cc, "pv"]), df = unname(tst[cc, "df"])))
  list(data = list(time = arr(time), status = arr(status), group = arr(group)), tests = tests)
}
gray <- list(
  group_exhausted = gray_case(c(1, 2, 3, 4, 5, 6), c(1, 1, 2, 1, 0, 1), c("a", "a", "a", "b", "b", "b")),
  incidence_reaches_one = gray_case(c(1, 2, 3, 4), c(1, 1, 1, 1), c("a", "a", "b", "b")),
  three_events = gray_case(c(1, 2, 3), c(1, 1, 1), c("a", "b", "b")),
  group_of_one = gray_case(c(1, 2, 3, 4, 5, 6, 7), c(1, 2, 0, 1, 1, 2, 0), c("a", "b", "a", "c", "b", "a", "b")),
  ## singular variance: cmprsk reports the statistic -1 with p = 1
  cause_after_competing = gray_case(c(1, 2, 5, 6), c(2, 2, 1, 1), c("a", "a", "b", "b")),
  all_at_once = gray_case(c(1, 1, 1, 1), c(1, 1, 1, 1), c("a", "a", "b", "b")))

## ---------------------------------------------------------------- weighted KM reaching 0
## non-integer case weights, the last subjects at risk all die: S reaches 0. robust (the default
## for such weights): the infinitesimal-jackknife SE of S; greenwood: robust = FALSE
wkm_case <- function(d) {
  one <- function(robust) {
    f <- survfit(Surv(time, event) ~ 1, data = d, weights = w, robust = robust, conf.type = "log-log")
    list(time = arr(f$time), n_risk = arr(f$n.risk), surv = arr(f$surv), std_err = arr(f$std.err),
         lower = arr(f$lower), upper = arr(f$upper), logse = isTRUE(f$logse))
  }
  list(data = data_json(d), robust = one(TRUE), greenwood = one(FALSE))
}
weighted_km <- list(
  to_zero = wkm_case(data.frame(time = c(1, 2, 2, 3, 4), event = c(1, 0, 1, 1, 1),
                                w = c(0.5, 1.5, 2.2, 0.7, 1.3))),
  to_zero_tied = wkm_case(data.frame(time = c(1, 1, 2, 3, 3, 3, 5, 5), event = c(1, 0, 1, 0, 1, 1, 1, 1),
                                     w = c(1.2, 0.4, 2.5, 0.9, 1.1, 0.3, 0.8, 1.7))))

## ---------------------------------------------------------------- text as times
text_times <- tryCatch(survfit(Surv(c("1", "2"), c(1, 0)) ~ 1), error = function(e) conditionMessage(e))

out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            cmprsk = as.character(packageVersion("cmprsk")),
            cox = cox, logrank = logrank, gray = gray, weighted_km = weighted_km,
            km_text_times_error = text_times)
write_json(out, file.path(get_outdir(), "edges.json"))

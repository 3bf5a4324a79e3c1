# Reference values for Table 1's continuous rows (study/table1.py): Mann–Whitney as R's
# wilcox.test (exact without ties and both groups < 50, else normal approximation with
# continuity correction), Kruskal–Wallis with ties and a group of one, one-way ANOVA (which R
# refuses with a group of one), quartiles
# type 7. Run: Rscript make_continuous_reference.R > continuous_reference.json
options(digits = 17)
x <- c(1.5, 3.2, 4.8, 7.1, 9.9, 12.4)            # no ties: exact
y <- c(2.2, 5.5, 6.1, 8.3, 10.7, 13.0, 15.2)
u <- c(1, 2, 2, 3, 5, 5, 8)                      # ties: normal approximation
v <- c(2, 3, 3, 4, 6, 9, 9, 10)
w <- c(4.4)                                      # a group of one
big_x <- seq(0.5, 60, by = 1.0)                  # 60 values, no ties: normal approximation
big_y <- seq(0.75, 40, by = 1.0)
f <- function(v) sprintf("%.17g", v)
kw <- kruskal.test(list(u, v, w))
aov <- oneway.test(values ~ ind, data = stack(list(a = u, b = v, c = x)), var.equal = TRUE)
one <- tryCatch(oneway.test(values ~ ind, data = stack(list(a = u, b = w)), var.equal = TRUE),
                error = function(e) NULL)
stopifnot(is.null(one))  # R refuses a group of one
q <- quantile(v, c(0.25, 0.75), type = 7)
cat("{\n")
cat(sprintf('  "mw_exact_p": %s,\n  "mw_exact_w": %s,\n', f(wilcox.test(x, y)$p.value),
            f(wilcox.test(x, y)$statistic)))
cat(sprintf('  "mw_ties_p": %s,\n  "mw_ties_w": %s,\n',
            f(suppressWarnings(wilcox.test(u, v))$p.value),
            f(suppressWarnings(wilcox.test(u, v))$statistic)))
cat(sprintf('  "mw_large_p": %s,\n', f(wilcox.test(big_x, big_y)$p.value)))
cat(sprintf('  "kw_stat": %s,\n  "kw_df": %s,\n  "kw_p": %s,\n', f(kw$statistic),
            f(kw$parameter), f(kw$p.value)))
cat(sprintf('  "anova_f": %s,\n  "anova_p": %s,\n', f(aov$statistic), f(aov$p.value)))
cat(sprintf('  "q1_v": %s,\n  "q3_v": %s\n', f(q[1]), f(q[2])))
cat("}\n")

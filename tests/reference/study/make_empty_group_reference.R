# Reference p-values for the SPSS test rule on tables with an empty group (a regimen with no
# patient in a subgroup). SPSS leaves an empty row out of the crosstab; the rule then sees the
# 2 x 2 table that is left. Run: Rscript make_empty_group_reference.R > empty_group_reference.json
options(digits = 17)
small <- matrix(c(2, 8, 5, 7), nrow = 2, byrow = TRUE)     # groups (2/10, 5/12): expected < 5
large <- matrix(c(20, 30, 35, 25), nrow = 2, byrow = TRUE) # groups (20/50, 35/60): expected >= 5
three <- matrix(c(2, 8, 5, 7, 9, 3), nrow = 3, byrow = TRUE)
out <- sprintf(paste0('{\n  "small_fisher_p": %.17g,\n  "large_pearson_stat": %.17g,\n',
                      '  "large_pearson_p": %.17g,\n  "three_pearson_p": %.17g\n}\n'),
               fisher.test(small)$p.value,
               unname(chisq.test(large, correct = FALSE)$statistic),
               chisq.test(large, correct = FALSE)$p.value,
               suppressWarnings(chisq.test(three, correct = FALSE))$p.value)
cat(out)

"""Generic statistics: survival, competing risks, Cox and contingency tests, equal to R.

This package knows nothing of POEMS. It must not import lifelines, statsmodels or matplotlib.
"""

from __future__ import annotations

from poems_cohort.stats._common import NonNumericError as NonNumericError
from poems_cohort.stats._common import NotTestableError as NotTestableError
from poems_cohort.stats.balance import BalanceTable as BalanceTable
from poems_cohort.stats.balance import balance_table as balance_table
from poems_cohort.stats.competing import CumulativeIncidence as CumulativeIncidence
from poems_cohort.stats.competing import GrayTest as GrayTest
from poems_cohort.stats.competing import cumulative_incidence as cumulative_incidence
from poems_cohort.stats.competing import gray_test as gray_test
from poems_cohort.stats.competing_cmprsk import (
    CumulativeIncidencePoints as CumulativeIncidencePoints,
)
from poems_cohort.stats.competing_cmprsk import cuminc_timepoints as cuminc_timepoints
from poems_cohort.stats.contingency import ChiSquareTableTest as ChiSquareTableTest
from poems_cohort.stats.contingency import FisherResult as FisherResult
from poems_cohort.stats.contingency import ProportionInterval as ProportionInterval
from poems_cohort.stats.contingency import SmallExpectedCountWarning as SmallExpectedCountWarning
from poems_cohort.stats.contingency import chi2_test as chi2_test
from poems_cohort.stats.contingency import expected_counts as expected_counts
from poems_cohort.stats.contingency import fisher_exact as fisher_exact
from poems_cohort.stats.contingency import proportion_ci as proportion_ci
from poems_cohort.stats.contingency import smallest_expected as smallest_expected
from poems_cohort.stats.cox import ChiSquareTest as ChiSquareTest
from poems_cohort.stats.cox import CoxResult as CoxResult
from poems_cohort.stats.cox import FitWithoutDataError as FitWithoutDataError
from poems_cohort.stats.cox import ProportionalHazardsTest as ProportionalHazardsTest
from poems_cohort.stats.cox import cox_ph as cox_ph
from poems_cohort.stats.cox_tests import InteractionTest as InteractionTest
from poems_cohort.stats.cox_tests import cox_interaction_test as cox_interaction_test
from poems_cohort.stats.effects import ProportionComparison as ProportionComparison
from poems_cohort.stats.effects import RiskDifference as RiskDifference
from poems_cohort.stats.effects import compare_proportions as compare_proportions
from poems_cohort.stats.effects import risk_difference as risk_difference
from poems_cohort.stats.followup import reverse_km_followup as reverse_km_followup
from poems_cohort.stats.logrank import LogRankResult as LogRankResult
from poems_cohort.stats.logrank import adjust_p as adjust_p
from poems_cohort.stats.logrank import logrank_test as logrank_test
from poems_cohort.stats.logrank import pairwise_logrank as pairwise_logrank
from poems_cohort.stats.propensity import CovariateDesign as CovariateDesign
from poems_cohort.stats.propensity import IptwWeights as IptwWeights
from poems_cohort.stats.propensity import MultinomialLogit as MultinomialLogit
from poems_cohort.stats.propensity import covariate_design as covariate_design
from poems_cohort.stats.propensity import covariate_design_from as covariate_design_from
from poems_cohort.stats.propensity import iptw_weights as iptw_weights
from poems_cohort.stats.propensity import multinomial_logit as multinomial_logit
from poems_cohort.stats.rmst import RmstComparison as RmstComparison
from poems_cohort.stats.rmst import rmst_comparison as rmst_comparison
from poems_cohort.stats.survival import KaplanMeier as KaplanMeier
from poems_cohort.stats.survival import KaplanMeierGroups as KaplanMeierGroups
from poems_cohort.stats.survival import RestrictedMean as RestrictedMean
from poems_cohort.stats.survival import SurvivalCurve as SurvivalCurve
from poems_cohort.stats.survival import SurvivalSummary as SurvivalSummary
from poems_cohort.stats.survival import kaplan_meier as kaplan_meier
from poems_cohort.stats.survival import kaplan_meier_by_group as kaplan_meier_by_group

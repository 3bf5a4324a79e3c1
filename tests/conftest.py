from tests.report.conftest import cohort_dir  # noqa: F401  (shared fixture)

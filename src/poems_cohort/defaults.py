"""The published study's two clinical constants, defined once for every layer.

- :data:`PAPER_CUTOFF`: the data cutoff of the 2019 analysis (its last follow-up date). It is the
  default of the analysis plan (``cutoff``), of ``load_cohort``/``apply_eligibility``, of
  ``EndpointSettings`` and of the command-line ``--cutoff`` options.
- :data:`VEGF_UPPER_NORMAL`: the upper limit of normal of serum VEGF (pg/ml). VEGF at or above it
  is the major diagnostic criterion "VEGF elevation"; below it is the VEGF response (CRV). It is
  the default of the plan's ``vegf_normal_below``.

This module imports nothing, so that any layer (and the command line, before pandas is loaded)
can use it.
"""

from __future__ import annotations

import datetime as dt

PAPER_CUTOFF: dt.date = dt.date(2018, 8, 31)
VEGF_UPPER_NORMAL: float = 600.0

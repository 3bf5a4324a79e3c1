"""poems-cohort: a POEMS syndrome treatment cohort in, the published comparative study out.

Layers (data flows one way, nothing imports a layer above it):

``cohort``   reading, the data dictionary, validation, eligibility and the patient flow
``clinical`` POEMS rules: risk score, eGFR, response criteria, PFS/OS derivation
``stats``    generic statistics, knows nothing of POEMS
``study``    the analysis plan and the computation of the tables, kinetics and survival
``report``   tables, figures and the HTML/Word/Excel/JSON writers (all formatting lives here)
``synth``    the published numbers, the count solver and the synthetic cohort generator
``cli``      a thin front
"""

__version__ = "0.1.0"

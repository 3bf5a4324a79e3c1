"""The published study's numbers, the count solver and the synthetic cohort generator."""

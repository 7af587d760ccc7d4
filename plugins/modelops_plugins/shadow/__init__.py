"""`modelops shadow compare`: how differently the new and the previous model answer.

A mirror rollout sends the same traffic to both versions; what matters for review is whether
their output distributions diverge, not whether single answers differ. Modules: `divergence`
(distributions and Jensen-Shannon), `sources` (live endpoints or recorded V2 responses),
`cli` (the verb).
"""

# DESIGN.md: flag for review above a Jensen-Shannon divergence of 0.1.
THRESHOLD = 0.1
DEFAULT_BINS = 10

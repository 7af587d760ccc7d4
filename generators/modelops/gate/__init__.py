"""The CI gate: `modelops policy`, `modelops plan` and `modelops check`.

`check` is one report over four stages: the rendered tree is current (render --check), every
object is strictly valid, the Rego policies pass, and Seldon's scheduler can place every model.
With `--base REF` it looks only at what the change touches (plus whole pools for the plan) and
summarises the change for the pull request. `ci/check.sh` runs exactly this.
"""

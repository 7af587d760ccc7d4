"""`modelops drift build`: KS drift detectors in the artifact layout Seldon and MLServer load.

The generators render each model's detector as a Seldon `Model` whose `storageUri` is
`spec.drift.reference`; this package builds what goes there. Modules: `build` (the rules and
the artifact), `cli` (the verb).
"""

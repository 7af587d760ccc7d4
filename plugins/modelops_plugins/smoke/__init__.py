"""`modelops smoke`: the post-sync smoke test, over the V2 (Open Inference) protocol.

Argo CD runs it as a `PostSync` Job against Seldon's mesh after every sync, so a bad artifact,
a wrong tensor shape or a model that never became ready fails the sync visibly instead of
surfacing as user errors. Modules: `wire` (typed V2 bodies), `client` (tritonclient over HTTP
or gRPC), `checks` (what is checked, and the report), `cli` (the verb).
"""

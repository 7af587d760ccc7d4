"""GitOps verbs: `modelops history`, `modelops rollback`, `modelops promote`.

A model's artifact lives in one line of one spec file, and Argo CD deploys whatever the
rendered tree on the main branch says. So every operation here is plain git on that file and
its rendered output: history reads the spec's `git log` (through renames, not copies),
rollback is a `git revert` (or, when the commit to undo also changed other models or created
the spec, one new commit that restores only this model's URI), promote brings artifacts (or
new models) from one environment to another. Nothing here rewrites history, and an operation
that cannot finish leaves the working tree, the index and HEAD exactly as it found them.
"""

"""The admission plugin: the policies CI runs, enforced on Seldon objects in the cluster.

A kopf operator indexes the Models, Servers and `modelops-environment` ConfigMaps it can see and
answers ValidatingWebhook reviews for `mlops.seldon.io` Models, Servers, Pipelines and
Experiments by evaluating `policies/` with the same engine module and input document as CI
(`modelops.policy`), so the cluster and a pull request can never disagree about a manifest.

    resources  every path, kind and index name, once (the YAML under platform/admission/ and a
               test hold the deployment to it)
    wire       AdmissionReview v1 TypedDicts; malformed requests rejected before kopf
    cluster    index values and the per-namespace policy context built from them
    verdict    findings -> decision: 403 naming the policy, or allowed with warnings
    handlers   kopf indexes, validating handlers, readiness
    server     the HTTPS endpoint kopf serves reviews through (limits, probes, cert rotation)
    operator   kopf settings that keep RBAC to list/watch of three kinds
    local      local mode: kmock's API emulator loaded with an environment's rendered files
    cli        `modelops admission run` (in-cluster) and `modelops admission serve` (local)
"""

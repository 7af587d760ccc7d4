# Artifacts: the storageUri of a Model (or of an InferenceService's predictor) must name one
# immutable, versioned artifact in a store the environment allows, and carry no credentials
# (they come from a storage secret). A rollback is a git revert of this URI, so it must mean the
# same bytes forever. See README.md.
package modelops_policy_artifacts

import rego.v1

import data.modelops_lib as lib

# The kinds this policy reports on; the admission plugin leaves it out of other reviews.
judges := {"Model", "InferenceService"}

# Storage schemes Seldon's rclone sidecar and KServe's storage initializer both read that the
# platform accepts; plain http is not (the artifact could be swapped in transit).
allowed_schemes := {"gs", "s3", "https"}

# KServe also pulls a model from an OCI registry (a ModelCar), by digest only: a tag can be
# moved to other bytes, a `sha256:` digest cannot.
kserve_schemes := allowed_schemes | {"oci"}

schemes := {"Model": allowed_schemes, "InferenceService": kserve_schemes}

oci_digest := `@sha256:[0-9a-f]{64}$`

# Where each kind takes its storage credentials from, for the messages.
secret_hint := {
	"Model": "the rclone storage secret (spec.secretName)",
	"InferenceService": "a storage secret on the predictor's service account",
}

# At least <model>/<version> below the bucket (or host).
min_path_segments := 2

# Query parameters that carry credentials: AWS SigV4 / SigV2 and GCS V4 / V2 signed URLs,
# Azure SAS tokens, bearer tokens.
credential_params := {
	"x-amz-signature", "x-amz-credential", "x-amz-security-token", "awsaccesskeyid", "signature",
	"x-goog-signature", "x-goog-credential", "googleaccessid",
	"sig", "token", "access_token", "password", "secret",
}

env_prefixes := [prefix | some prefix in lib.array_at(lib.environment_spec, ["artifacts", "allowedPrefixes"]); is_string(prefix)]

# scheme://authority/path?query#fragment (RFC 3986 with a mandatory scheme and authority), split
# with string builtins.
# (trim(s, "") keeps regopy from quoting the lowered scheme in messages, see lib.text.)
parts(uri) := {"scheme": trim(lower(substring(uri, 0, sep)), ""), "authority": authority, "path": path, "query": query} if {
	is_string(uri)
	sep := indexof(uri, "://")
	sep > 0
	rest := split(substring(uri, sep + 3, -1), "#")[0]
	question := indexof(rest, "?")
	hier := before(rest, question)
	query := after(rest, question)
	slash := indexof(hier, "/")
	authority := before(hier, slash)
	path := substring(hier, count(authority), -1)
	authority != ""
}

before(s, i) := s if i < 0

before(s, i) := substring(s, 0, i) if i >= 0

after(s, i) := "" if i < 0

after(s, i) := substring(s, i + 1, -1) if i >= 0

# The URI as it is safe to print: no userinfo, no query.
shown(uri) := lib.text(sprintf("%s://%s%s", [p.scheme, host, p.path])) if {
	p := parts(uri)
	host := trim(regex.replace(p.authority, `^.*@`, ""), "")
}

shown(uri) := lib.text(regex.replace(regex.replace(uri, `[^/@]*@`, "***@"), `\?.*$`, "?***")) if {
	is_string(uri)
	not parts(uri)
}

shown(uri) := lib.text(uri) if not is_string(uri)

segments(path) := [s | some s in split(path, "/"); s != ""]

storage_uri(model) := object.get(model, ["spec", "storageUri"], "") if {
	model.kind == "Model"
} else := object.get(lib.predictor_model(model), "storageUri", "")

# Every Model and InferenceService under review with its URI parsed once: {"model", "uri",
# "parts" (null: unparseable)}.
reviewed := [{"model": model, "uri": uri, "parts": parsed(uri)} |
	some model in array.concat(lib.reviewed_models, lib.reviewed_inference_services)
	uri := storage_uri(model)
]

parsed(uri) := p if {
	p := parts(uri)
} else := null

uris := [entry | some entry in reviewed; entry.parts != null]

deny contains lib.violation(entry.model, msg) if {
	some entry in reviewed
	entry.parts == null
	msg := sprintf("storageUri '%s' is not an absolute URI (scheme://bucket/model/version)", [shown(entry.uri)])
}

deny contains lib.violation(entry.model, msg) if {
	some entry in uris
	allowed := schemes[entry.model.kind]
	not entry.parts.scheme in allowed
	msg := sprintf("storageUri scheme %s is not allowed; use one of %s", [lib.text(entry.parts.scheme), lib.text(concat(", ", sort(allowed)))])
}

deny contains lib.violation(entry.model, msg) if {
	some entry in uris
	entry.parts.scheme == "oci"
	not regex.match(oci_digest, entry.uri)
	msg := sprintf("storageUri %s is an OCI image without a digest; pin it as oci://host/repository@sha256:<64 hex digits> so a rollback restores the same bytes", [shown(entry.uri)])
}

# "latest" as a word anywhere in the path, tag or query: model-latest, latest/, :latest.
deny contains lib.violation(entry.model, msg) if {
	some entry in uris
	text := lower(concat("?", [entry.parts.path, entry.parts.query]))
	contains(text, "latest")
	regex.match(`(^|[^a-z0-9])latest([^a-z0-9]|$)`, text)
	msg := sprintf("storageUri %s points at a moving 'latest' artifact; pin an immutable version so a rollback restores the same bytes", [shown(entry.uri)])
}

# An OCI reference names its version by digest, so the repository alone may follow the host.
deny contains lib.violation(entry.model, msg) if {
	some entry in uris
	entry.parts.scheme != "oci"
	n := count(segments(entry.parts.path))
	n < min_path_segments
	msg := sprintf("storageUri %s has %d path segment(s) below the bucket; it needs at least bucket/model/version (%d)", [shown(entry.uri), n, min_path_segments])
}

deny contains lib.violation(entry.model, msg) if {
	count(env_prefixes) > 0
	some entry in uris
	not strings.any_prefix_match(entry.uri, env_prefixes)
	msg := sprintf("storageUri %s is outside the environment's allowed prefixes (%s)", [shown(entry.uri), lib.text(concat(", ", env_prefixes))])
}

deny contains lib.violation(entry.model, msg) if {
	some entry in uris
	contains(entry.parts.authority, "@")
	msg := sprintf("storageUri %s carries credentials (user:password@ before the host); use %s", [shown(entry.uri), secret_hint[entry.model.kind]])
}

deny contains lib.violation(entry.model, msg) if {
	some entry in uris
	entry.parts.query != ""
	found := {name |
		some pair in split(entry.parts.query, "&")
		name := lower(split(pair, "=")[0])
		name in credential_params
	}
	count(found) > 0
	msg := sprintf("storageUri %s carries credentials in its query (%s); signed URLs expire and leak through git history, use %s", [shown(entry.uri), lib.text(concat(", ", sort(found))), secret_hint[entry.model.kind]])
}

package modelops_policy_artifacts_test

import rego.v1

import data.modelops_policy_artifacts as artifacts

model(uri) := {
	"apiVersion": "mlops.seldon.io/v1alpha1",
	"kind": "Model",
	"metadata": {"name": "fraud", "namespace": "models"},
	"spec": {"storageUri": uri, "memory": "1Gi"},
}

env(prefixes) := {"metadata": {"name": "prod"}, "spec": {"artifacts": {"allowedPrefixes": prefixes}}}

messages(uri, environment) := msgs if {
	msgs := {v.msg | some v in artifacts.deny} with input as {"environment": environment, "objects": [model(uri)], "cluster": []}
}

only(msgs, text) if {
	count(msgs) == 1
	some m in msgs
	contains(m, text)
}

test_versioned_uri_allowed if {
	count(messages("gs://acme-models-prod/fraud/2026-11-02-a1b2c3", {})) == 0
	count(messages("s3://acme-models/fraud/v12", {})) == 0
	count(messages("https://models.acme.internal/fraud/v3/model.onnx", {})) == 0
}

test_latest_tag_denied if {
	only(messages("gs://acme-models-prod/fraud/model:latest", {}), "a moving 'latest' artifact")
}

test_latest_folder_denied if {
	only(messages("gs://acme-models-prod/fraud/latest", {}), "a moving 'latest' artifact")
}

test_latest_inside_a_segment_denied if {
	only(messages("s3://acme-models/fraud/model-LATEST.tar.gz", {}), "a moving 'latest' artifact")
}

test_latest_in_query_denied if {
	only(messages("https://models.acme.internal/fraud/v3?version=latest", {}), "a moving 'latest' artifact")
}

test_a_word_containing_latest_letters_is_fine if {
	count(messages("gs://acme-models/slatestone/v1", {})) == 0
}

test_bare_bucket_denied if {
	only(messages("gs://acme-models-prod", {}), "0 path segment(s)")
	only(messages("gs://acme-models-prod/", {}), "0 path segment(s)")
}

test_unversioned_model_folder_denied if {
	only(messages("gs://acme-models-prod/fraud/", {}), "1 path segment(s)")
}

test_empty_segments_do_not_count if {
	only(messages("gs://acme-models-prod//fraud//", {}), "1 path segment(s)")
}

test_plain_http_scheme_denied if {
	only(messages("http://models.acme.internal/fraud/v3", {}), "scheme http is not allowed")
}

test_file_scheme_denied if {
	only(messages("file:///mnt/models/fraud/v3", {}), "not an absolute URI")
}

test_relative_path_denied if {
	only(messages("acme-models/fraud/v3", {}), "not an absolute URI")
}

test_missing_storage_uri_denied if {
	result := artifacts.deny with input as {"environment": {}, "objects": [json.remove(model(""), ["spec/storageUri"])], "cluster": []}
	some v in result
	contains(v.msg, "not an absolute URI")
}

test_prefix_outside_environment_allowlist_denied if {
	only(messages("gs://someone-elses-bucket/fraud/v1", env(["gs://acme-models-prod/"])), "outside the environment's allowed prefixes")
}

test_prefix_on_environment_allowlist_allowed if {
	count(messages("gs://acme-models-prod/fraud/v1", env(["s3://acme/", "gs://acme-models-prod/"]))) == 0
}

test_no_allowlist_in_environment_skips_the_prefix_check if {
	count(messages("gs://anything/fraud/v1", env([]))) == 0
}

test_userinfo_denied_and_not_echoed if {
	msgs := messages("https://deploy:hunter2@models.acme.internal/fraud/v3", {})
	only(msgs, "user:password@")
	some m in msgs
	not contains(m, "hunter2")
}

test_signed_url_denied_and_not_echoed if {
	msgs := messages("https://storage.googleapis.com/acme/fraud/v3/model.bst?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=abc123", {})
	only(msgs, "x-goog-signature")
	some m in msgs
	not contains(m, "abc123")
}

test_s3_presigned_and_sas_denied if {
	only(messages("https://acme.s3.amazonaws.com/fraud/v3/m.bst?X-Amz-Credential=AKIA&X-Amz-Signature=ff", {}), "x-amz-credential, x-amz-signature")
	only(messages("https://acme.blob.core.windows.net/models/fraud/v3?sv=2024&sig=ZZ", {}), "(sig)")
	only(messages("https://models.acme.internal/fraud/v3?token=t0k", {}), "(token)")
}

test_harmless_query_allowed if {
	count(messages("https://models.acme.internal/fraud/v3?generation=1700000000", {})) == 0
}

# --- InferenceServices ---------------------------------------------------------------------------

isvc(uri) := {
	"apiVersion": "serving.kserve.io/v1beta1",
	"kind": "InferenceService",
	"metadata": {"name": "churn", "namespace": "models"},
	"spec": {"predictor": {"model": {"runtime": "kserve-sklearnserver", "storageUri": uri}}},
}

isvc_messages(uri, environment) := msgs if {
	msgs := {v.msg | some v in artifacts.deny} with input as {"environment": environment, "objects": [isvc(uri)], "cluster": []}
}

digest := "sha256:4f9d3c1e8a7b6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c"

test_inference_service_versioned_uri_allowed if {
	count(isvc_messages("gs://acme-models-prod/churn/2026-11-02-a1b2c3", {})) == 0
}

test_inference_service_oci_digest_allowed if {
	count(isvc_messages(sprintf("oci://registry.acme.internal/churn@%s", [digest]), {})) == 0
}

test_inference_service_oci_tag_denied if {
	only(isvc_messages("oci://registry.acme.internal/models/churn:v3", {}), "OCI image without a digest")
}

test_inference_service_oci_short_digest_denied if {
	only(isvc_messages("oci://registry.acme.internal/churn@sha256:4f9d", {}), "OCI image without a digest")
}

test_oci_is_not_for_seldon if {
	only(messages(sprintf("oci://registry.acme.internal/churn@%s", [digest]), {}), "scheme oci is not allowed; use one of gs, https, s3")
}

test_inference_service_without_model_has_no_uri if {
	obj := json.patch(isvc(""), [{"op": "remove", "path": "/spec/predictor/model"}])
	msgs := {v.msg | some v in artifacts.deny} with input as {"environment": {}, "objects": [obj], "cluster": []}
	only(msgs, "is not an absolute URI")
}

test_inference_service_latest_denied if {
	only(isvc_messages("gs://acme-models-prod/churn/latest", {}), "a moving 'latest' artifact")
}

test_inference_service_outside_prefixes_denied if {
	only(isvc_messages("gs://acme-models-dev/churn/v1", env(["gs://acme-models-prod/"])), "outside the environment's allowed prefixes")
}

test_inference_service_credentials_name_its_secret if {
	only(isvc_messages("s3://acme-models/churn/v1?X-Amz-Signature=abc", {}), "a storage secret on the predictor's service account")
	only(isvc_messages("https://user:pw@models.acme.internal/churn/v1", {}), "a storage secret on the predictor's service account")
}

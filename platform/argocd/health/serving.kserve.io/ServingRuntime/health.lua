-- Argo CD health check for KServe `serving.kserve.io/v1alpha1` ServingRuntime and
-- ClusterServingRuntime, which share one spec (../ClusterServingRuntime/health.lua links here).
-- Installed into argocd-cm as resource.customizations.health.serving.kserve.io_ServingRuntime
-- and _ClusterServingRuntime by platform/argocd/kustomization.yaml. Argo CD runs it with only
-- the base and table libraries.
--
-- A runtime has no status: KServe reads it when it reconciles an InferenceService. So the
-- verdict comes from the spec alone. A disabled runtime is Suspended, a deliberate off switch
-- like a stopped InferenceService (every InferenceService that names it fails with
-- RuntimeDisabled and shows Degraded itself); a runtime no InferenceService can ever use
-- (no container, no model format) is Degraded. Without this check Argo CD shows no health for
-- runtimes at all.
local hs = {}
local spec = obj.spec or {}

if spec.disabled == true then
  hs.status = "Suspended"
  hs.message = "Disabled (spec.disabled): never chosen by model format, and an " ..
    "InferenceService that names it fails with RuntimeDisabled"
  return hs
end

if spec.containers == nil or #spec.containers == 0 then
  hs.status = "Degraded"
  hs.message = "spec.containers is empty: there is nothing to run"
  return hs
end

local formats = {}
local chosen = {}
for _, format in ipairs(spec.supportedModelFormats or {}) do
  if format.name ~= nil and format.name ~= "" then
    local name = format.name
    if format.version ~= nil and format.version ~= "" then
      name = name .. ":" .. format.version
    end
    table.insert(formats, name)
    if format.autoSelect == true then
      table.insert(chosen, name)
    end
  end
end
if #formats == 0 then
  hs.status = "Degraded"
  hs.message = "spec.supportedModelFormats names no format: KServe matches no " ..
    "InferenceService to it"
  return hs
end

hs.status = "Healthy"
hs.message = "Serves " .. table.concat(formats, ", ")
if #chosen == #formats then
  hs.message = hs.message .. ", chosen by model format"
elseif #chosen > 0 then
  hs.message = hs.message .. "; chosen by model format for " .. table.concat(chosen, ", ")
else
  hs.message = hs.message .. " for InferenceServices that name it"
end
return hs


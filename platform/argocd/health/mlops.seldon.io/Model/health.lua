-- Argo CD health check for Seldon Core 2 `mlops.seldon.io/v1alpha1` Model.
-- Installed into argocd-cm as resource.customizations.health.mlops.seldon.io_Model by
-- platform/argocd/kustomization.yaml. Argo CD runs it with only the base and table libraries.
--
-- Seldon's operator copies the scheduler's model state into the ModelReady condition (and the
-- Ready condition that summarises it): `message` holds the state name (ModelAvailable,
-- ModelProgressing, ScheduleFailed, ModelFailed, ModelScaledDown, ...) and `reason` the
-- scheduler's explanation. Without this check Argo CD shows Models with no health at all, so
-- an app full of models that failed to schedule or load would read Healthy.
local hs = {}

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon scheduler to report the model's state"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon controller to observe generation " .. generation ..
    " (status is for generation " .. observed .. ")"
  return hs
end

local condition = nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "ModelReady" then
    condition = c
  elseif c.type == "Ready" and condition == nil then
    condition = c
  end
end
if condition == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the ModelReady condition"
  return hs
end

local state = condition.message
local explanation = condition.reason
local function describe(fallback)
  local text = state
  if text == nil or text == "" then
    text = fallback
  end
  if explanation ~= nil and explanation ~= "" and explanation ~= text then
    text = text .. ": " .. explanation
  end
  return text
end

local failed = { ScheduleFailed = true, ModelFailed = true, ModelTerminateFailed = true }

if condition.status == "True" then
  hs.status = "Healthy"
  hs.message = describe("ModelAvailable")
  local available = obj.status.availableReplicas
  local wanted = obj.status.replicas
  if available ~= nil and wanted ~= nil then
    hs.message = hs.message .. " (" .. available .. "/" .. wanted .. " replicas)"
  end
elseif (state ~= nil and failed[state]) or (explanation ~= nil and failed[explanation]) then
  hs.status = "Degraded"
  hs.message = describe("ModelFailed")
elseif state == "ModelScaledDown" then
  hs.status = "Suspended"
  hs.message = describe("ModelScaledDown")
else
  hs.status = "Progressing"
  hs.message = describe("Model is not ready yet")
end
return hs

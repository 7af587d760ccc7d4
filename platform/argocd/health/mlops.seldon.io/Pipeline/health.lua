-- Argo CD health check for Seldon Core 2 `mlops.seldon.io/v1alpha1` Pipeline.
-- Installed into argocd-cm as resource.customizations.health.mlops.seldon.io_Pipeline by
-- platform/argocd/kustomization.yaml. Argo CD runs it with only the base and table libraries.
--
-- The operator sets PipelineReady (the dataflow engine), PipelineGwReady (the pipeline
-- gateway), ModelsReady (every step's model available) and the summarising Ready. For the
-- first two, `reason` is the scheduler's pipeline status (PipelineCreating, PipelineReady,
-- PipelineFailed, ...) and `message` its explanation. Models that are still loading keep a
-- pipeline Progressing; a model that failed is Degraded on its own Model object.
local hs = {}

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon scheduler to report the pipeline's state"
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

local ready = nil
local pending = {}
for _, c in ipairs(obj.status.conditions) do
  local text = c.type
  if c.reason ~= nil and c.reason ~= "" then
    text = text .. ": " .. c.reason
  end
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  if c.status ~= "True" and (c.reason == "PipelineFailed" or c.message == "PipelineFailed") then
    hs.status = "Degraded"
    hs.message = text
    return hs
  end
  if c.type == "Ready" then
    ready = c
  elseif c.status ~= "True" then
    table.insert(pending, text)
  end
end

if ready ~= nil and ready.status == "True" and #pending == 0 then
  hs.status = "Healthy"
  hs.message = "Pipeline is ready"
  return hs
end

hs.status = "Progressing"
if #pending > 0 then
  hs.message = table.concat(pending, "; ")
else
  hs.message = "Waiting for the Ready condition"
end
return hs

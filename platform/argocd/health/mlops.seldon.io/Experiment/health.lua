-- Argo CD health check for Seldon Core 2 `mlops.seldon.io/v1alpha1` Experiment.
-- Installed into argocd-cm as resource.customizations.health.mlops.seldon.io_Experiment by
-- platform/argocd/kustomization.yaml. Argo CD runs it with only the base and table libraries.
--
-- The scheduler reports ExperimentReady (traffic split active), CandidatesReady and
-- MirrorReady, summarised in Ready. Waiting for candidate models is normal while they load.
-- When the scheduler refuses to start the experiment (a candidate that does not exist, a
-- default that is not a candidate), the operator records the error as a False condition of
-- another type (Seldon Core 2.10 names it ModelReady): that is Degraded.
local hs = {}

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon scheduler to report the experiment's state"
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

local expected = { Ready = true, ExperimentReady = true, CandidatesReady = true, MirrorReady = true }
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
  if c.status == "False" and not expected[c.type] then
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
  hs.message = "Experiment is active"
  return hs
end

hs.status = "Progressing"
if #pending > 0 then
  hs.message = table.concat(pending, "; ")
else
  hs.message = "Waiting for the Ready condition"
end
return hs

-- Argo CD health check for Seldon Core 2 `mlops.seldon.io/v1alpha1` Server.
-- Installed into argocd-cm as resource.customizations.health.mlops.seldon.io_Server by
-- platform/argocd/kustomization.yaml. Argo CD runs it with only the base and table libraries.
--
-- The operator sets StatefulSetReady (DeploymentReady when servers run as Deployments) and the
-- summarising Ready condition. "replicas does not match desired replicas" is the normal state
-- while pods start; any other False reason is a reconcile error the operator recorded (for
-- example a ServerConfig that does not exist), which no amount of waiting fixes.
local hs = {}

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon controller to report the server's state"
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

local waiting = {}
waiting["StatefulSet replicas does not match desired replicas"] = true
waiting["Deployment replicas does not match desired replicas"] = true

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
  if c.type == "Ready" then
    ready = c
  elseif c.status == "False" and (c.reason == nil or not waiting[c.reason]) then
    hs.status = "Degraded"
    hs.message = text
    return hs
  elseif c.status ~= "True" then
    table.insert(pending, text)
  end
end

if ready ~= nil and ready.status == "True" and #pending == 0 then
  hs.status = "Healthy"
  hs.message = "Server is ready"
  if obj.status.replicas ~= nil and obj.status.loadedModels ~= nil then
    hs.message = hs.message .. " (" .. obj.status.replicas .. " replicas, " ..
      obj.status.loadedModels .. " model replicas loaded)"
  end
  return hs
end

hs.status = "Progressing"
if #pending > 0 then
  hs.message = table.concat(pending, "; ")
else
  hs.message = "Waiting for the Ready condition"
end
return hs

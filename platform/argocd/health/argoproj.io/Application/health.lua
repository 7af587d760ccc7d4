-- Argo CD health check for `argoproj.io/v1alpha1` Application, for the app-of-apps layers.
-- Installed into argocd-cm as resource.customizations.health.argoproj.io_Application by
-- platform/argocd/kustomization.yaml. Argo CD runs it with only the base and table libraries.
--
-- Argo CD removed its built-in Application health check in 1.8, so a parent application's
-- sync waves do not wait for child Applications. The platform stack relies on that wait
-- (Seldon's CRDs, then its controller, then its runtime), so a child counts as Healthy only
-- when it is both synced and healthy.
local hs = {}

if obj.status == nil or obj.status.health == nil or obj.status.health.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the application to report its health"
  return hs
end

local health = obj.status.health.status
local sync = "Unknown"
if obj.status.sync ~= nil and obj.status.sync.status ~= nil then
  sync = obj.status.sync.status
end
local detail = "sync " .. sync .. ", health " .. health
if obj.status.health.message ~= nil and obj.status.health.message ~= "" then
  detail = detail .. ": " .. obj.status.health.message
end

if health == "Healthy" and sync == "Synced" then
  hs.status = "Healthy"
elseif health == "Degraded" or health == "Suspended" then
  hs.status = health
else
  hs.status = "Progressing"
end
hs.message = detail
return hs

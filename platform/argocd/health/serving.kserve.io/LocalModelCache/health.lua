-- Argo CD health check for KServe `serving.kserve.io/v1alpha1` LocalModelCache.
-- Installed into argocd-cm as resource.customizations.health.serving.kserve.io_LocalModelCache
-- by platform/argocd/kustomization.yaml. Argo CD runs it with only the base and table libraries.
--
-- The local model controller downloads the model onto every node of the cache's node groups
-- and reports each node in status.nodeStatus, with counts in status.copies (total nodes,
-- available = NodeDownloaded, failed = NodeDownloadError). A node that is not ready is counted
-- in the total but cannot download until it returns, so it does not hold the cache back; a
-- failed download does not retry into success by waiting, so it is Degraded.
local hs = {}
local status = obj.status or {}

if status.copies == nil and status.nodeStatus == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the KServe local model controller to report the nodes' copies"
  return hs
end

local by_state = {}
for node, state in pairs(status.nodeStatus or {}) do
  if by_state[state] == nil then
    by_state[state] = {}
  end
  table.insert(by_state[state], node)
end
for _, nodes in pairs(by_state) do
  table.sort(nodes)
end
local function nodes_in(state)
  return by_state[state] or {}
end

local copies = status.copies or {}
local total = copies.total or 0
local available = copies.available or 0
local failed = copies.failed or 0

local errored = nodes_in("NodeDownloadError")
if failed > 0 or #errored > 0 then
  local where = table.concat(errored, ", ")
  if where == "" then
    where = failed .. " node(s)"
  end
  hs.status = "Degraded"
  hs.message = "Download failed on " .. where .. " (" .. available .. "/" .. total ..
    " nodes hold the model)"
  return hs
end

if total == 0 then
  hs.status = "Progressing"
  hs.message = "No node in the cache's node groups yet"
  return hs
end

local parts = { available .. "/" .. total .. " nodes hold the model" }
for _, state in ipairs({ "NodeDownloading", "NodeDownloadPending", "NodeNotReady" }) do
  if #nodes_in(state) > 0 then
    table.insert(parts, state .. ": " .. table.concat(nodes_in(state), ", "))
  end
end
hs.message = table.concat(parts, "; ")
-- A node that is not ready downloads once it returns; it does not hold the others back.
if available > 0 and available + #nodes_in("NodeNotReady") >= total then
  hs.status = "Healthy"
else
  hs.status = "Progressing"
end
return hs

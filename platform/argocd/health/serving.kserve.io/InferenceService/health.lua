-- Argo CD health check for KServe `serving.kserve.io/v1beta1` InferenceService.
-- Installed into argocd-cm as resource.customizations.health.serving.kserve.io_InferenceService
-- by platform/argocd/kustomization.yaml, in place of the check Argo CD bundles for this kind.
-- Argo CD runs it with only the base and table libraries.
--
-- Argo CD's own check reads only conditions and modelStatus.transitionStatus, so a model scaled
-- to zero by design reads Progressing for ever (KServe leaves transitionStatus InProgress while
-- no pod runs, kserve#6079) and a crash-looping predictor reads Progressing instead of
-- Degraded. This one decides in order: stopped, failed, still rolling out, scaled to zero by
-- design, ready. platform/argocd/README.md gives each rule, the KServe source it rests on, and
-- every case where the verdict differs from Argo CD's.
local hs = {}

-- Condition reasons that waiting does not fix: Knative's configuration reason for a revision
-- that failed (crash loop, image, scheduling), and the Deployment's for a rollout past its
-- progress deadline or pods that cannot be created (Standard mode copies those verbatim).
local failed_reasons = {
  RevisionFailed = true,
  ProgressDeadlineExceeded = true,
  FailedCreate = true,
  CrashLoopBackOff = true,
  ImagePullBackOff = true,
  ErrImagePull = true,
  ContainerMissing = true,
}
local failed_transitions = { BlockedByFailedLoad = true, InvalidSpec = true }
local idle_states = { Pending = true, Standby = true }

local function join(parts, separator)
  local kept = {}
  for _, part in ipairs(parts) do
    if part ~= nil and part ~= "" then
      table.insert(kept, part)
    end
  end
  return table.concat(kept, separator)
end

local function describe_condition(c)
  return join({ (c.type or "?") .. " " .. (c.status or "Unknown"), c.reason, c.message }, ": ")
end

local function describe_failure(info)
  if info == nil then
    return nil
  end
  local text = join({ info.reason, info.message }, ": ")
  if info.exitCode ~= nil and info.exitCode ~= 0 then
    text = join({ text, "(exit code " .. info.exitCode .. ")" }, " ")
  end
  return text
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the KServe controller to report the InferenceService's state"
  return hs
end

local conditions = obj.status.conditions or {}
local model = obj.status.modelStatus or {}
local states = model.states or {}
local predictor_spec = (obj.spec or {}).predictor or {}
local predictor = (obj.status.components or {}).predictor or {}

-- The conditions that say most: the first with a failure reason, and the first still waiting
-- (Ready only summarises the others, so it is named when nothing more specific waits).
local failing, waiting = nil, nil
for _, c in ipairs(conditions) do
  if c.type ~= "Stopped" and c.status ~= "True" then
    if failing == nil and c.status == "False" and failed_reasons[c.reason] then
      failing = c
    end
    if waiting == nil or (waiting.type == "Ready" and c.type ~= "Ready") then
      waiting = c
    end
  end
end
local last_failure = describe_failure(model.lastFailureInfo)

-- Stop: the annotation asks, the Stopped condition confirms. KServe compares the value
-- case-insensitively; these are the spellings a check without the string library can match.
local truthy = { ["true"] = true, ["True"] = true, ["TRUE"] = true }
local annotations = obj.metadata.annotations or {}
local stop_asked = truthy[annotations["serving.kserve.io/stop"]] == true
local stopped = false
for _, c in ipairs(conditions) do
  if c.type == "Stopped" and c.status == "True" then
    stopped = true
  end
end
if stopped and stop_asked then
  hs.status = "Suspended"
  hs.message = "Stopped by the serving.kserve.io/stop annotation: no pods run"
  return hs
elseif stopped then
  hs.status = "Progressing"
  hs.message = "Resuming: the serving.kserve.io/stop annotation is gone, the Stopped " ..
    "condition is still True"
  return hs
elseif stop_asked then
  hs.status = "Progressing"
  hs.message = "Stopping: waiting for the KServe controller to act on serving.kserve.io/stop"
  return hs
end

-- Failed: the model cannot load or the spec cannot be served, or a rollout gave up.
if failed_transitions[model.transitionStatus] or states.targetModelState == "FailedToLoad" then
  local detail = last_failure
  local telling = failing or waiting
  if (detail == nil or detail == "") and telling ~= nil then
    detail = describe_condition(telling)
  end
  hs.status = "Degraded"
  hs.message = join({ model.transitionStatus or "FailedToLoad", detail }, ": ")
  return hs
end
if failing ~= nil then
  hs.status = "Degraded"
  hs.message = join({ describe_condition(failing), last_failure }, "; last failure: ")
  return hs
end
for _, canary in ipairs(obj.status.canaryStatuses or {}) do
  local canary_model = canary.modelStatus or {}
  if failed_transitions[canary_model.transitionStatus] then
    hs.status = "Degraded"
    hs.message = join({ "Canary " .. canary.name .. ": " .. canary_model.transitionStatus,
      describe_failure(canary_model.lastFailureInfo) }, ": ")
    return hs
  end
end

-- Still rolling out: a new Knative revision, a condition not yet True, a canary not ready.
local created = predictor.latestCreatedRevision
local ready_revision = predictor.latestReadyRevision
if created ~= nil and created ~= "" and created ~= ready_revision then
  hs.status = "Progressing"
  hs.message = "Rolling out revision " .. created
  if predictor_spec.canaryTrafficPercent ~= nil then
    hs.message = hs.message .. " as a " .. predictor_spec.canaryTrafficPercent .. "% canary"
  end
  if ready_revision ~= nil and ready_revision ~= "" then
    hs.message = hs.message .. "; " .. ready_revision .. " serves meanwhile"
  end
  return hs
end
if #conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the KServe controller to report the InferenceService's conditions"
  return hs
end
if waiting ~= nil then
  hs.status = "Progressing"
  hs.message = join({ describe_condition(waiting), last_failure }, "; last failure: ")
  return hs
end
for _, canary in ipairs(obj.status.canaryStatuses or {}) do
  if canary.ready ~= true then
    hs.status = "Progressing"
    hs.message = "Canary " .. canary.name .. " is not ready"
    return hs
  end
end

-- Every condition is True. KServe still reports a model with no pod as InProgress/Pending.
if model.transitionStatus == "InProgress" then
  if predictor_spec.minReplicas == 0 and idle_states[states.targetModelState] then
    hs.status = "Healthy"
    hs.message = "Scaled to zero by design (spec.predictor.minReplicas: 0): no pod runs until " ..
      "the autoscaler starts one"
    return hs
  end
  hs.status = "Progressing"
  hs.message = join({ "Model " .. (states.targetModelState or "loading"),
    "transitionStatus InProgress" }, ": ")
  return hs
end

hs.status = "Healthy"
hs.message = "Ready"
if obj.status.deploymentMode ~= nil and obj.status.deploymentMode ~= "" then
  hs.message = "Ready (" .. obj.status.deploymentMode .. " mode)"
end
local split = {}
for _, target in ipairs(predictor.traffic or {}) do
  if target.percent ~= nil and target.revisionName ~= nil then
    table.insert(split, target.percent .. "% to " .. target.revisionName)
  end
end
if #split > 1 then
  hs.message = hs.message .. "; traffic split: " .. table.concat(split, ", ")
end
return hs

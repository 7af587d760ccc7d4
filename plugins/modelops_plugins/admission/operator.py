"""Assemble and run the kopf operator: registry, settings, webhook server.

In the cluster and in local mode it is the same operator; only the login differs (the pod's
service account via the kubernetes client, or the local emulator). The settings are what keep
its RBAC to list/watch of the kinds it indexes (platform/admission/README.md explains each verb):

* `admission.managed = None`: the webhook configuration is shipped as YAML (namespaceSelector,
  5 s timeout, v1 only), so kopf needs no rights on webhook configurations;
* `scanning.disabled`: no runtime watch of CRDs and Namespaces (and no RBAC for them); Seldon's
  CRDs are discovered once at start;
* `posting.enabled = False`: nothing is reported as Kubernetes Events (no events/create); the
  pod's log has every denial;
* standalone (no peering): both replicas must index and answer reviews at all times; peering
  would pause one of them, and it needs create/patch on kopf's peering objects;
* a server-side field selector on ConfigMaps (by name), so the RBAC rule can name one
  resourceName instead of reading every ConfigMap in the cluster.

Against kmock's emulator (local mode, the tests, the benchmark) one more setting: the emulator
sends no BOOKMARK events and answers a resumed watch by replaying every object. With kopf's
70 s inactivity timeout (made for the apiserver's bookmark every minute) an idle emulated
cluster was re-indexed whole every 70 s: 1,500 events at once in the benchmark, the one
stall of each run. The apiserver resumes from the resourceVersion and replays nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

import kopf

from modelops_plugins.admission.handlers import Readiness, register
from modelops_plugins.admission.resources import INDEXED
from modelops_plugins.admission.server import AdmissionServer
from modelops_plugins.admission.verdict import Judge

Login = Callable[..., Any]
# No bookmarks from the emulator: a watch is only idle, never dead (module docstring).
EMULATOR_WATCH_INACTIVITY: Final = 24 * 3600.0


def operator_settings(server: AdmissionServer, emulated: bool = False) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    if emulated:
        settings.watching.inactivity_timeout = EMULATOR_WATCH_INACTIVITY
    settings.admission.server = server
    settings.admission.managed = None
    settings.scanning.disabled = True
    settings.posting.enabled = False
    for indexed in INDEXED:
        selector = (indexed.resource.group, indexed.resource.version, indexed.resource.plural)
        if indexed.field_selector:
            settings.watching.field_selectors[selector] = indexed.field_selector
    return settings


def build_registry(judge: Judge, readiness: Readiness,
                   login: Login | None = None) -> kopf.OperatorRegistry:
    """A fresh registry (never kopf's global one) with our handlers and exactly one login."""
    registry = kopf.OperatorRegistry()
    register(registry, judge, readiness)
    kopf.on.login(id="login", registry=registry)(login or kopf.login_via_client)
    return registry


async def run(registry: kopf.OperatorRegistry, server: AdmissionServer,
              stop: asyncio.Event | None = None, emulated: bool = False) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM when on the main thread); `emulated`:
    logged in to kmock's emulator."""
    await kopf.operator(registry=registry, settings=operator_settings(server, emulated),
                        clusterwide=True, standalone=True, stop_flag=stop)

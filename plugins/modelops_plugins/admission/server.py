"""The HTTPS endpoint kopf hands admission reviews through (`settings.admission.server`).

kopf's own `WebhookServer` works, but leaves what a production endpoint needs to the caller:
it has no limit on how long a request body may take, turns a review without `resource` into a
500, answers any path (a typo in the webhook configuration would silently allow everything, as
no handler matches), and serves nothing a kubelet probe could ask. This server implements
kopf's documented server protocol (an async generator taking kopf's `WebhookFn` and yielding a
client config) and adds exactly that:

* `POST /<handler-id>` for the webhooks it is given (`resources.WEBHOOKS`) only; any other path
  is 404;
* bodies over `max_body` are 413, bodies slower than `body_timeout` are 408 (connection closed),
  malformed reviews are 400 (`wire.parse_review`): none of them reach kopf, and none of them
  stop the server;
* `GET /healthz` (the loop answers) and `GET /readyz` (indexes filled, see handlers.Readiness);
* the certificate and key are re-read when their files change, so cert-manager can rotate them
  under a running pod (new TLS handshakes get the new pair; the listener never restarts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final, NamedTuple

import kopf
from aiohttp import web

from modelops_plugins.admission import wire
from modelops_plugins.admission.handlers import Readiness
from modelops_plugins.admission.resources import WEBHOOKS, Webhook

logger = logging.getLogger(__name__)

# An AdmissionReview carries the object and, on UPDATE, its old version; etcd caps an object
# at 1.5 MiB, so 4 MiB leaves room for both and the envelope, and nothing legitimate is larger.
MAX_BODY: Final = 4 * 1024 * 1024


class Limits(NamedTuple):
    max_body: int = MAX_BODY
    # Below the webhook's timeoutSeconds (5): the apiserver has given up by then anyway.
    body_timeout: float = 4.0
    cert_check_interval: float = 30.0
    # After an early answer (413, 408) the rest of the body is drained this long, so a client
    # still sending reads the answer instead of a reset; then the connection is closed.
    lingering: float = 1.0


DEFAULT_LIMITS: Final = Limits()


class AdmissionServer:
    """HTTPS admission endpoint for kopf; see the module docstring for what it adds."""

    def __init__(self, host: str, port: int, certfile: Path, keyfile: Path,
                 readiness: Readiness, limits: Limits = DEFAULT_LIMITS,
                 webhooks: Sequence[Webhook] = WEBHOOKS) -> None:
        self.webhooks = {w.id: w for w in webhooks}
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.readiness = readiness
        self.limits = limits
        self.address: tuple[str, int] | None = None   # (host, port) once listening
        self.listening = asyncio.Event()

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        context = self._ssl_context()
        stamp = self._stamp()

        async def review(request: web.Request) -> web.StreamResponse:
            return await self._review(fn, request)

        app = web.Application(client_max_size=self.limits.max_body)
        app.router.add_post("/{webhook}", review)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               lingering_time=self.limits.lingering)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, ssl_context=context,
                               reuse_address=True)
            await site.start()
            host, port = runner.addresses[0][:2]
            logger.info("admission webhook listening on https://%s:%d (%s)", host, port,
                        ", ".join(w.path for w in self.webhooks.values()))
            self.address = (host, port)
            self.listening.set()
            yield kopf.WebhookClientConfig(url=f"https://{host}:{port}")
            while True:   # kopf keeps iterating; serve until cancelled, rotating certificates
                await asyncio.sleep(self.limits.cert_check_interval)
                stamp = self._reload_if_changed(context, stamp)
        finally:
            await runner.cleanup()

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def _stamp(self) -> tuple[tuple[int, int], ...]:
        stamps = []
        for path in (self.certfile, self.keyfile):
            try:
                info = os.stat(path)   # follows the ..data symlink of a mounted Secret
            except OSError:
                stamps.append((0, 0))
            else:
                stamps.append((info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def _reload_if_changed(self, context: ssl.SSLContext,
                           stamp: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        current = self._stamp()
        if current == stamp:
            return stamp
        try:
            context.load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as exc:
            # Mid-rotation (cert written, key not yet): keep serving the old pair, retry later.
            logger.warning("TLS certificate change not loaded yet: %s", exc)
            return stamp
        logger.info("TLS certificate reloaded from %s", self.certfile)
        return current

    async def _review(self, fn: kopf.WebhookFn, request: web.Request) -> web.StreamResponse:
        webhook = self.webhooks.get(request.match_info["webhook"])
        if webhook is None:
            return _error(404, f"no webhook at {request.path}; served: "
                               f"{', '.join(w.path for w in self.webhooks.values())}")
        if request.content_type != "application/json":
            return _error(415, f"Content-Type must be application/json, "
                               f"not {request.content_type or 'missing'}", close=True)
        length = request.content_length
        if length is not None and length > self.limits.max_body:
            return _error(413, f"body of {length} bytes is over {self.limits.max_body}",
                          close=True)
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                raw = await request.read()
        except TimeoutError:
            return _error(408, f"body not received within {self.limits.body_timeout:g} s",
                          close=True)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"body is over {self.limits.max_body} bytes", close=True)
        try:
            review = wire.parse_review(raw, webhook)
        except wire.ReviewError as exc:
            return _error(exc.status, exc.reason)
        sslpeer = request.transport.get_extra_info("peercert") if request.transport else None
        try:
            answer = await fn(review,  # type: ignore[arg-type]  # same shape, our TypedDict
                              webhook=webhook.id, headers=dict(request.headers),
                              sslpeer=sslpeer)
            response = wire.checked_response(review, answer)
        except Exception:
            logger.exception("admission review %s failed", review["request"]["uid"])
            return _error(500, "internal error while reviewing; see the plugin's log")
        return web.json_response(response)

    async def _healthz(self, _: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.StreamResponse:
        if self.readiness.indexed.is_set():
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "indexing"}, status=503)


def _error(status: int, reason: str, *, close: bool = False) -> web.StreamResponse:
    response = web.Response(status=status, content_type="application/json",
                            text=json.dumps({"error": reason}))
    if close:
        # The rest of the body may still be on the wire: do not reuse this connection.
        response.force_close()
    return response

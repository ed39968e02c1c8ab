"""What every service shares around its core: the FastStream app with its HTTP side.

Each service is an ``AsgiFastStream`` app serving ``/metrics`` (Prometheus), ``/health/live``
(the process answers) and ``/health/ready`` (Redis answers, the groups exist, and whatever
the service adds, such as a loaded model). Ports are settings; compose health checks use them.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.types import Scope
from faststream.redis import RedisBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from faststream.security import BaseSecurity
from prometheus_client import make_asgi_app
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from shared.metrics import REGISTRY, refresh_gauges
from shared.periodic import Periodic
from shared.redis import redis_url, tls_context
from shared.settings import Settings
from shared.streams import StreamNames

ReadyCheck = Callable[[], Awaitable[bool]]
# FastStream's own loggers print plain text through their own handler; ours propagates to the
# root handler that shared.logging configures, so every line is one structured event.
FASTSTREAM_LOGGER = logging.getLogger("dropwire.faststream")


def make_broker(settings: Settings, service: str) -> RedisBroker:
    """The service's FastStream broker, with FastStream's message metrics in our registry.

    For a rediss:// URL it gets the same TLS trust and client certificate as the redis-py
    clients (``shared.redis.tls_context``); credentials come from the URL.
    """
    context = tls_context(settings)
    middlewares: list[Any] = [RedisPrometheusMiddleware(registry=REGISTRY, app_name=service)]
    if settings.otel_enabled:
        middlewares.append(_telemetry_middleware(settings, service))
    return RedisBroker(
        redis_url(settings),
        security=BaseSecurity(ssl_context=context) if context is not None else None,
        middlewares=middlewares,
        logger=FASTSTREAM_LOGGER,
    )


def _telemetry_middleware(settings: Settings, service: str) -> Any:
    """FastStream's OpenTelemetry middleware exporting spans over OTLP/HTTP (optional extra)."""
    from faststream.redis.opentelemetry import RedisTelemetryMiddleware
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"dropwire-{service}"}))
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    atexit.register(provider.shutdown)  # flush the last spans on a clean exit
    return RedisTelemetryMiddleware(tracer_provider=provider)


async def groups_exist(redis: Redis, names: StreamNames) -> bool:
    for stream, group in names.groups:
        try:
            groups = {g["name"] for g in await redis.xinfo_groups(stream)}
        except ResponseError:
            return False
        if group not in groups:
            return False
    return True


def build_service_app(
    broker: RedisBroker,
    redis: Redis,
    settings: Settings,
    *,
    extra_checks: dict[str, ReadyCheck] | None = None,
) -> AsgiFastStream:
    """The FastStream app of a service with its metrics and health endpoints."""
    names = settings.streams
    checks: dict[str, ReadyCheck] = {
        "redis": lambda: _pings(redis),
        "groups": lambda: groups_exist(redis, names),
        **(extra_checks or {}),
    }

    @get(include_in_schema=False)
    async def live(scope: Scope) -> AsgiResponse:
        return AsgiResponse(
            b'{"status": "alive"}', 200, headers={"content-type": "application/json"}
        )

    @get(include_in_schema=False)
    async def ready(scope: Scope) -> AsgiResponse:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), timeout=2.0))
            except (RedisError, OSError, TimeoutError):
                results[name] = False
        ok = all(results.values())
        body = json.dumps({"ready": ok, "checks": results}).encode()
        return AsgiResponse(body, 200 if ok else 503, headers={"content-type": "application/json"})

    app = AsgiFastStream(
        broker,
        logger=FASTSTREAM_LOGGER,
        asgi_routes=[
            ("/metrics", make_asgi_app(REGISTRY)),
            ("/health/live", live),
            ("/health/ready", ready),
        ],
    )
    gauges = Periodic("gauges", lambda: refresh_gauges(redis, names), every=5.0)

    @app.after_startup
    async def start_gauges() -> None:
        gauges.start()

    @app.on_shutdown
    async def stop_gauges() -> None:
        await gauges.stop()

    return app


async def _pings(redis: Redis) -> bool:
    return bool(await redis.ping())

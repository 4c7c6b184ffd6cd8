"""The process's tracer: OpenTelemetry spans exported over OTLP/HTTP, or nothing.

Tracing is on when `RELAYFLOW_OTEL_ENDPOINT` is set (`setup_tracing` at start-up, in
the CLI) or when a test installs a provider (`use_tracer_provider`). When it is off,
`active_tracer()` is None, every caller skips its spans, and the OpenTelemetry SDK is
never imported: no cost.

The endpoint is the collector's OTLP/HTTP base URL (`http://collector:4318`); spans go
to `<endpoint>/v1/traces` (an endpoint already ending in `/v1/traces` is used as is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relayflow import __version__
from relayflow.config import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

TRACER_NAME = "relayflow"
TRACES_PATH = "/v1/traces"

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def active_tracer() -> Tracer | None:
    """The tracer when tracing is on, else None."""
    return _tracer


def traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Send spans to `provider` (None turns tracing off)."""
    global _provider, _tracer
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME, __version__) if provider is not None else None


def setup_tracing(settings: Settings) -> bool:
    """Export spans to `settings.otel_endpoint` when it is set; True when tracing is on."""
    if not settings.otel_endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {"service.name": settings.otel_service_name, "service.version": __version__}
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(
        endpoint=traces_url(settings.otel_endpoint), timeout=settings.otel_export_timeout_s
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_tracer_provider(provider)
    return True


def shutdown_tracing() -> None:
    """Export what is left and stop (the end of `relayflow run`, or of a process)."""
    provider = _provider
    use_tracer_provider(None)
    if provider is not None:
        provider.shutdown()

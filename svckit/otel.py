"""What svckit.tracing gives the OpenTelemetry SDK when tracing is on, imported only then: the SDK's defaults,
with less of their work repeated for every span."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult


class ParentOrAlways(Sampler):
    """The SDK's default sampler, ParentBased(ALWAYS_ON), in one step instead of three: a span is sampled unless
    its parent was sampled out (a client's `traceparent` with flags 00), and carries its parent's tracestate."""

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None, attributes: Any = None,
                      links: Any = None, trace_state: Any = None) -> SamplingResult:  # fmt: skip
        parent = trace.get_current_span(parent_context).get_span_context()
        if not parent.is_valid:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        if not parent.trace_flags.sampled:
            return SamplingResult(Decision.DROP, None, parent.trace_state)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)

    def get_description(self) -> str:
        return "ParentBased{root:AlwaysOnSampler}"


class FixedResource(Resource):
    """`resource`, hashed once: the exporter groups every span it sends by its resource, and a Resource hashes
    by writing its attributes out as JSON each time (a fifth of the encoding's cost per span)."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)

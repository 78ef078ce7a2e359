"""The OTLP exporter of svckit's spans (opentelemetry-exporter-otlp's, over gRPC), with the spans' protobuf
encoding written out directly.

The library builds a protobuf object per span, attribute and value (17-19 µs a span, and garbage to collect);
written as bytes, a span of ours costs 7 µs in a loop.
What this does not write out (a span of another tracer; events, such as a recorded exception; links; a
tracestate; values other than str, bool, int and float) is encoded span by span by the library itself.
tests/test_otlp.py holds both encodings to the same messages.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, SpanFlags, Status
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from svckit import otel

_DOUBLE = struct.Struct("<d").pack
_FIXED32 = struct.Struct("<I").pack
_FIXED64 = struct.Struct("<Q").pack
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5  # protobuf's wire types


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(message: Any, field: str, wire: int) -> bytes:
    """The key that starts `field` of `message` on the wire (its number from the generated descriptor)."""
    return _varint(message.DESCRIPTOR.fields_by_name[field].number << 3 | wire)


_LENGTHS = [bytes((n,)) for n in range(0x80)]  # a length below 128 is one byte


def _delimited(key: bytes, data: bytes) -> bytes:
    n = len(data)
    return key + (_LENGTHS[n] if n < 0x80 else _varint(n)) + data


_TRACE_ID, _SPAN_ID, _PARENT = (_key(Span, f, LENGTH) for f in ("trace_id", "span_id", "parent_span_id"))
_TRACE_ID_16, _SPAN_ID_8, _PARENT_8 = _TRACE_ID + b"\x10", _SPAN_ID + b"\x08", _PARENT + b"\x08"  # with their lengths
_NAME, _KIND, _ATTRIBUTE = _key(Span, "name", LENGTH), _key(Span, "kind", VARINT), _key(Span, "attributes", LENGTH)
_START, _END = _key(Span, "start_time_unix_nano", FIXED64), _key(Span, "end_time_unix_nano", FIXED64)
_STATUS, _FLAGS = _key(Span, "status", LENGTH), _key(Span, "flags", FIXED32)
_STATUS_MESSAGE, _STATUS_CODE = _key(Status, "message", LENGTH), _key(Status, "code", VARINT)
_ATTR_KEY, _ATTR_VALUE = _key(KeyValue, "key", LENGTH), _key(KeyValue, "value", LENGTH)
_STRING, _BOOL = _key(AnyValue, "string_value", LENGTH), _key(AnyValue, "bool_value", VARINT)
_INT, _FLOAT = _key(AnyValue, "int_value", VARINT), _key(AnyValue, "double_value", FIXED64)
_KINDS = {kind: _KIND + _varint(Span.SpanKind.Value(f"SPAN_KIND_{kind.name}")) for kind in SpanKind}
_CODES = {code: _STATUS_CODE + _varint(Status.StatusCode.Value(f"STATUS_CODE_{code.name}")) for code in StatusCode}
_CODES[StatusCode.UNSET] = b""  # the default: not written
_HAS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_LOCAL = _FLAGS + _FIXED32(_HAS_REMOTE)
_REMOTE = _FLAGS + _FIXED32(_HAS_REMOTE | SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
_SPANS = _key(ScopeSpans, "spans", LENGTH)
_SCOPE_SPANS = _key(ResourceSpans, "scope_spans", LENGTH)
_RESOURCE_SPANS = _key(ExportTraceServiceRequest, "resource_spans", LENGTH)


def _value(value: object) -> bytes | None:
    """An AnyValue's encoding, or None for a type left to the library (checked in the library's order)."""
    if isinstance(value, bool):
        return _BOOL + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _delimited(_STRING, value.encode())
    if isinstance(value, int):
        return _INT + _varint(value & 0xFFFF_FFFF_FFFF_FFFF)  # int64, two's complement
    if isinstance(value, float):
        return _FLOAT + _DOUBLE(value)
    return None


# What a service's spans repeat, encoded once: a span's name and kind, and an attribute's key. Both come from a
# small set (method paths, event types, svckit's attribute names); past _CACHED entries nothing more is kept.
_CACHED = 1024
_heads: dict[tuple[str, SpanKind], bytes] = {}
_keys: dict[str, bytes] = {}
_PLAIN_STATUS = _delimited(_STATUS, b"")  # UNSET, with no message: every span that ended well


def _head(name: str, kind: SpanKind) -> bytes:
    head = _heads.get((name, kind))
    if head is None:
        head = _delimited(_NAME, name.encode()) + _KINDS[kind]
        if len(_heads) < _CACHED:
            _heads[name, kind] = head
    return head


def _attribute(key: str, value: object) -> bytes | None:
    """A KeyValue's encoding, or None for a value left to the library."""
    encoded = _delimited(_STRING, value.encode()) if type(value) is str else _value(value)  # str: nearly all
    if encoded is None:
        return None
    prefix = _keys.get(key)
    if prefix is None:
        prefix = _delimited(_ATTR_KEY, key.encode())
        if len(_keys) < _CACHED:
            _keys[key] = prefix
    return _delimited(_ATTRIBUTE, prefix + _delimited(_ATTR_VALUE, encoded))


def _written(span: ReadableSpan) -> bytes | None:
    """A span of svckit's tracer (svckit.otel.Span: the only kind a service exports), read from its fields; None
    for any other span, or one that holds what only the library encodes. The ReadableSpan properties cost a call
    each, and `attributes` a read-only view made per call."""
    if type(span) is not otel.Span:
        return None
    ctx, parent, status, start, end = span._context, span._parent, span._status, span._start_time, span._end_time
    if span._events or span._links or ctx is None or ctx.trace_state or start is None or end is None:
        return None
    parts = [_TRACE_ID_16, ctx.trace_id.to_bytes(16, "big"), _SPAN_ID_8, ctx.span_id.to_bytes(8, "big")]
    if parent is not None:
        parts += (_PARENT_8, parent.span_id.to_bytes(8, "big"))
    parts += (_head(span._name, span._kind), _START, _FIXED64(start), _END, _FIXED64(end))
    for key, value in (span._attributes or {}).items():
        if (attribute := _attribute(key, value)) is None:
            return None
        parts.append(attribute)
    code, message = status.status_code, status.description
    if code is StatusCode.UNSET and not message:
        parts.append(_PLAIN_STATUS)
    else:
        parts.append(_delimited(_STATUS, (_delimited(_STATUS_MESSAGE, message.encode()) if message else b"") +
                                _CODES[code]))  # fmt: skip
    parts.append(_REMOTE if parent is not None and parent.is_remote else _LOCAL)
    return b"".join(parts)


def _by_library(span: ReadableSpan) -> bytes:
    return bytes(encode_spans([span]).resource_spans[0].scope_spans[0].spans[0].SerializeToString())


def _frame(span: ReadableSpan) -> tuple[bytes, bytes]:
    """What surrounds the spans of `span`'s resource and scope: ResourceSpans' fields but its scope_spans, and
    ScopeSpans' fields but its spans, as the library encodes them."""
    resource_spans = encode_spans([span]).resource_spans[0]
    scope_spans = resource_spans.scope_spans.pop()
    del scope_spans.spans[:]
    return bytes(resource_spans.SerializeToString()), bytes(scope_spans.SerializeToString())


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """An ExportTraceServiceRequest of `spans`, grouped by resource and then by scope, as the library groups them."""
    groups: dict[Any, dict[Any, list[bytes]]] = {}
    frames: dict[tuple[Any, Any], tuple[bytes, bytes]] = {}
    last: tuple[Any, Any] = (None, None)
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        if resource is not last[0] or scope is not last[1]:  # a batch's spans mostly share both: no hashing
            if (resource, scope) not in frames:
                frames[resource, scope] = _frame(span)
            last, group = (resource, scope), groups.setdefault(resource, {}).setdefault(scope, [])
        group.append(_delimited(_SPANS, _written(span) or _by_library(span)))
    out = []
    for resource, scopes in groups.items():
        body = b"".join(
            _delimited(_SCOPE_SPANS, frames[resource, scope][1] + b"".join(encoded))
            for scope, encoded in scopes.items()
        )
        out.append(_delimited(_RESOURCE_SPANS, frames[resource, next(iter(scopes))][0] + body))
    return b"".join(out)


class Exporter(OTLPSpanExporter):
    """opentelemetry-exporter-otlp's OTLP/gRPC span exporter (its channel, retries and timeouts), sending what
    `encode` writes (parsed back into the request the stub sends, which costs a tenth of building it)."""

    def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
        return ExportTraceServiceRequest.FromString(encode(data))

"""The edge's and the mesh listener's HTTP filters and Envoy's own replies, for tools.render.envoy_config."""

from __future__ import annotations

from typing import Any

TRANSCODER = "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"
FAULT = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
BUFFER = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer"
WITH_MATCHER = "type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher"
HEADER_INPUT = "type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput"
SKIP_FILTER = "type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter"
# REST bodies larger than this get 413 from the edge's buffer filter (gRPC messages: svckit.server.MAX_REQUEST_BYTES).
MAX_REQUEST_BYTES = 64 * 1024
TOO_LARGE = f"the request body is larger than {MAX_REQUEST_BYTES} bytes"
# The transcoder buffers a whole gRPC reply before it writes JSON. The largest possible page (100 items, every
# text at its longest in 4-byte characters) is about 1.7 MB of protobuf (tests/test_largest_page.py computes it);
# Envoy's default, the 1 MiB stream buffer, would turn it into a 500.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


def transcoder(descriptor_set: str, services: list[str]) -> dict[str, Any]:
    """REST to gRPC for the public services, with the body limits above."""
    return {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": {
        "@type": TRANSCODER,
        "proto_descriptor": descriptor_set,
        "services": services,
        "convert_grpc_status": True,
        "print_options": {"always_print_primitive_fields": True, "preserve_proto_field_names": True},
        "request_validation_options": {"reject_unknown_method": True, "reject_unknown_query_parameters": True},
        "max_request_body_size": MAX_REQUEST_BYTES,
        "max_response_body_size": MAX_RESPONSE_BYTES,
    }}  # fmt: skip


def rest_body_limit() -> dict[str, Any]:
    """A REST body over MAX_REQUEST_BYTES gets 413 before the transcoder sees it. The transcoder's own limit
    counts only the bytes not yet parsed: a body that arrives in pieces slipped past it to the service (429).
    The buffer filter counts the whole body (Content-Length first). gRPC callers skip it: their messages are
    limited by the service itself, with RESOURCE_EXHAUSTED, as gRPC clients expect."""
    grpc = {"single_predicate": {
        "input": {"name": "content-type", "typed_config": {"@type": HEADER_INPUT, "header_name": "content-type"}},
        "value_match": {"prefix": "application/grpc"},
    }}  # fmt: skip
    skip = {"name": "skip", "typed_config": {"@type": SKIP_FILTER}}
    return {"name": "envoy.filters.http.buffer", "typed_config": {
        "@type": WITH_MATCHER,
        "extension_config": {"name": "envoy.filters.http.buffer",
                             "typed_config": {"@type": BUFFER, "max_request_bytes": MAX_REQUEST_BYTES}},
        "xds_matcher": {"matcher_list": {"matchers": [{"predicate": grpc, "on_match": {"action": skip}}]}},
    }}  # fmt: skip


# Envoy's own replies (no route, bad JSON, breaker open) carry the gRPC code a service would have sent.
LOCAL_REPLY_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 413: 8, 429: 8, 431: 8, 500: 13, 502: 14, 503: 14, 504: 4}
ENVOYS_WORDS = "%LOCAL_REPLY_BODY%"
LOCAL_REPLY_MESSAGES = {413: TOO_LARGE}  # where Envoy's own words ("Payload Too Large") say less than ours


# A REST caller: not gRPC, or transcoded (the transcoder sets the gRPC content-type and keeps the REST path).
_REST_CALL = {"or_filter": {"filters": [
    {"header_filter": {"header": {"name": "content-type", "string_match": {"prefix": "application/grpc"},
                                  "invert_match": True, "treat_missing_header_as_empty": True}}},
    {"header_filter": {"header": {"name": "x-envoy-original-path", "present_match": True}}},
]}}  # fmt: skip


def _local_reply(
    http: int, grpc: int, rest: bool = True, status: int | None = None, message: str = ENVOYS_WORDS
) -> dict[str, Any]:
    """REST callers get the JSON body; the others (`rest` False: gRPC callers, after the REST mappers) keep
    Envoy's plain grpc-message ("Jwt is missing"). `status` rewrites the HTTP status (and so the gRPC code
    Envoy derives from it); `message` replaces Envoy's own words."""
    code = {"status_code_filter": {"comparison": {"op": "EQ", "value": {"default_value": http, "runtime_key": "_"}}}}
    mapper: dict[str, Any] = {"filter": {"and_filter": {"filters": [code, _REST_CALL]}} if rest else code}
    if rest:
        body = {"code": grpc, "message": message, "details": "%RESPONSE_CODE_DETAILS%"}
        mapper["body_format_override"] = {"json_format": body}
    if status:
        mapper["status_code"] = status
    return mapper


def local_replies() -> dict[str, Any]:
    """The edge's local_reply_config: Envoy's own replies as JSON bodies for REST clients."""
    # jwt_authn answers 403 to a token for another audience, the one 403 Envoy itself gives at the edge;
    # a token that is not for us is as unauthenticated as a bad one: 401 for it too.
    audience = [_local_reply(403, 16, rest, status=401) for rest in (True, False)]
    mappers = [*audience, *(_local_reply(http, grpc, message=LOCAL_REPLY_MESSAGES.get(http, ENVOYS_WORDS))
                            for http, grpc in LOCAL_REPLY_CODES.items())]  # fmt: skip
    return {"mappers": mappers}


def fault(name: str, prefix: str) -> dict[str, Any]:
    """A delay injected before matching calls reach their service; 0% until set at runtime through the admin:
    POST /runtime_modify?fault.<name>.delay_percent=100&fault.<name>.delay_ms=2000."""
    return {"name": f"envoy.filters.http.fault.{name}", "typed_config": {
        "@type": FAULT,
        "headers": [{"name": ":path", "string_match": {"prefix": prefix}}],
        "delay": {"fixed_delay": "0.001s", "percentage": {"numerator": 0, "denominator": "HUNDRED"}},
        "delay_percent_runtime": f"fault.{name}.delay_percent",
        "delay_duration_runtime": f"fault.{name}.delay_ms",
    }}  # fmt: skip

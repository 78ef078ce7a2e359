"""The committed generated code and Envoy's descriptor set are what `make protos` would write now."""

from __future__ import annotations

from pathlib import Path

from tools.render import protos


def test_generated_code_and_descriptor_set_are_current(tmp_path: Path) -> None:
    protos.generate(tmp_path / "py", tmp_path / "envoy")
    generated = sorted(p.relative_to(tmp_path / "py") for p in (tmp_path / "py").rglob("*_pb2*.py*"))
    committed = sorted(p.relative_to(protos.PROTOS) for p in protos.PROTOS.rglob("*_pb2*.py*"))
    assert generated == committed, "run `make protos`: generated files differ in name"
    stale = [str(p) for p in generated if (tmp_path / "py" / p).read_bytes() != (protos.PROTOS / p).read_bytes()]
    assert not stale, f"run `make protos`: stale generated code {stale}"
    fresh = (tmp_path / "envoy" / protos.DESCRIPTOR_SET).read_bytes()
    assert fresh == (protos.ROOT / "envoy" / protos.DESCRIPTOR_SET).read_bytes(), "run `make protos`: stale bnb.pb"

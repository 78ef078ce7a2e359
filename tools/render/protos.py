"""Regenerate the committed protobuf code and Envoy's descriptor set (`make protos`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc_tools
from google.api import annotations_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
DESCRIPTOR_SET = "bnb.pb"
# Internal services live in their own files so that the edge's descriptor set never describes them.
INTERNAL = {"bnb/room/v1/holds.proto", "bnb/payment/v1/approvals.proto"}


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in PROTOS.glob("bnb/**/*.proto"))


def public_files() -> list[str]:
    return [f for f in proto_files() if f not in INTERNAL and "/events/" not in f]


def _includes() -> list[str]:
    googleapis = Path(annotations_pb2.__file__).resolve().parent.parent.parent
    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    return [f"-I{PROTOS}", f"-I{googleapis}", f"-I{well_known}"]


def _protoc(args: list[str]) -> None:
    if protoc.main(["protoc", *_includes(), *args]) != 0:
        sys.exit(f"protoc failed: {' '.join(args)}")


def generate(out: Path, descriptor_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py under `out` and the public descriptor set."""
    out.mkdir(parents=True, exist_ok=True)
    descriptor_dir.mkdir(parents=True, exist_ok=True)
    _protoc([f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *proto_files()])
    # google/rpc/status.proto lets the transcoder turn a gRPC error into a JSON body.
    _protoc(
        [
            "--include_imports",
            f"--descriptor_set_out={descriptor_dir / DESCRIPTOR_SET}",
            *public_files(),
            "google/rpc/status.proto",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTOS)
    parser.add_argument("--descriptor-dir", type=Path, default=ROOT / "envoy")
    args = parser.parse_args()
    generate(args.out, args.descriptor_dir)


if __name__ == "__main__":
    main()

"""Generators: Envoy's config from envoy/mesh.toml, the protobuf code, the descriptor sets and Istio ConfigMaps."""

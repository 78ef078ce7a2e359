"""NATS JetStream for the local mesh: one server, or a cluster of several joined by routes, each with its own store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLUSTER = "bnb"
ROUTE_OFFSET = 2000  # node i's cluster (route) port: its client port + this


@dataclass(frozen=True)
class Node:
    """One nats-server: its name, client, monitoring and route ports."""

    index: int
    port: int
    monitor: int
    route: int

    @property
    def name(self) -> str:
        return f"nats-{self.index}"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


def nodes(ports: list[int], monitors: list[int], routes: list[int] | None = None) -> list[Node]:
    """The nodes on these ports; route ports default to each client port + ROUTE_OFFSET."""
    routes = routes or [port + ROUTE_OFFSET for port in ports]
    return [Node(i, *p) for i, p in enumerate(zip(ports, monitors, routes, strict=True))]


def urls(cluster: list[Node]) -> str:
    """BNB_NATS_URL for the services: every node, so that a client goes on with another when its node dies."""
    return ",".join(node.url for node in cluster)


def stream_replicas(cluster: list[Node]) -> int:
    """JetStream replicates a stream on at most 5 servers; 3 is the production shape (istio/)."""
    return min(len(cluster), 3) if len(cluster) > 1 else 1


def program(node: Node, cluster: list[Node]) -> str:
    """The supervisord program name: "nats" alone, "nats-<i>" in a cluster."""
    return "nats" if len(cluster) == 1 else node.name


def config(node: Node, cluster: list[Node], store: Path) -> str:
    """A cluster node's configuration file: JetStream in a store of its own, routes to every other node."""
    routes = ", ".join(f"nats://127.0.0.1:{other.route}" for other in cluster if other != node)
    return (
        f"server_name: {node.name}\nlisten: 127.0.0.1:{node.port}\nhttp: 127.0.0.1:{node.monitor}\n"
        f'jetstream {{ store_dir: "{store / node.name}" }}\n'
        f"cluster {{ name: {CLUSTER}, listen: 127.0.0.1:{node.route}, routes: [{routes}] }}\n"
    )


def command(nats_server: Path, node: Node, cluster: list[Node], data_dir: Path, run_dir: Path) -> str:
    """The node's command line; a cluster node's configuration file is written under `run_dir` on the way."""
    if len(cluster) == 1:  # as before clusters: the store stays where it was
        return f"{nats_server} -a 127.0.0.1 -p {node.port} -m {node.monitor} -js -sd {data_dir}/jetstream"
    path = run_dir / f"{node.name}.conf"
    path.write_text(config(node, cluster, data_dir / "jetstream-cluster"))
    return f"{nats_server} -c {path}"

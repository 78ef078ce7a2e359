"""Reading the services' Prometheus metrics over HTTP, as Prometheus does."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import Mesh

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample that 127.0.0.1:`port`/metrics serves, by name and labels."""
    reply = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5, trust_env=False)
    reply.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def of(mesh: Mesh, service: str, replica: int = 0) -> Samples:
    return scrape(mesh.cfg.metrics_ports[service][replica])


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when it does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)

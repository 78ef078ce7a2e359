"""The benchmark behind `make bench`: saga throughput and latency, event lag to the room view, with hard targets."""

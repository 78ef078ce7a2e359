"""The reservation context: guests request and cancel reservations; it runs the saga."""

"""`make drill`: reservations and cancellations under load, kill -9 of one process of each kind, then the invariants."""

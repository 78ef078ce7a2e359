"""The demos, the fault drill and the load behind them; the private mesh that tests, bench and demos start."""

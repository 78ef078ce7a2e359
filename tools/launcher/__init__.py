"""`make run` and what runs beside it: the local mesh under supervisord, rollouts, probes, tokens, databases."""

"""The one shared runtime of bnb-mesh: config, logs, database, events, server."""

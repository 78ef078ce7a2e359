"""Alembic's environment for every service: svckit.migrate hands over the connection and the models."""

from svckit.migrate import run_env

run_env()

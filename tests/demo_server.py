"""A private demo server for a test: its own pipeline, visits, example cache and build queue."""

from __future__ import annotations

from demo import server
from demo.server import Server, ServerLimits
from demo.store import StoreLimits


def use_private_server(monkeypatch, folder, pipeline, **limits) -> Server:
    """Make the handlers use a server around ``pipeline`` with its files under ``folder``, until the test ends."""
    private = Server.create(pipeline=pipeline, folder=folder, limits=ServerLimits(**limits), store_limits=StoreLimits())
    monkeypatch.setattr(server, "_current", private)
    return private

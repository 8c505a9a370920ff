"""The name a workspace's dodo.py imports (``from devloop.tasks import setup``); the graph is devloop.loop.tasks."""

from devloop.loop.tasks import setup

__all__ = ["setup"]

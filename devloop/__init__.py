"""devloop: the multi-agent software-delivery loop as a Make-style build on doit."""

__version__ = "0.1.0"

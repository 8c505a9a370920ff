"""devloop.yaml: the pydantic models and the one loader that parses it."""

from devloop.config.load import CONFIG_FILE, load_config
from devloop.config.models import Config

__all__ = ["CONFIG_FILE", "Config", "load_config"]

"""devloop workspace: `doit` advances every feature through the loop."""

from devloop.tasks import setup

setup(globals())

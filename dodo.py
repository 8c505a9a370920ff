"""This repository is itself a devloop workspace: `doit` advances features under plans/."""

from devloop.tasks import setup

setup(globals())

"""The loop itself, on top of doit: the task graph, the engine that judges and runs steps, the reporter.

``tasks`` turns features x steps into doit tasks (``devloop.tasks`` is the
public name a dodo.py imports), ``engine`` judges a step from its lock and
runs it, ``reporter`` prints what a run did, ``advice`` says what to do next,
``monitoring`` watches a deploy and routes fired triggers, ``targets`` and
``doitrun`` hold what the graph and the reporter share. May import the
steps and every layer below; the views and the CLI stand above it.
"""

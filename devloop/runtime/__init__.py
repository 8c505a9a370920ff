"""The runtime under everything: processes, locks, atomic writes, signals, deadlines, environments.

Also redaction of secrets, YAML read within limits, devloop's error types,
its own git calls and a few words of terminal output. Nothing here knows
what a step, a feature's lock or an agent is: this layer imports only the
standard library and itself (``procs`` registers with ``interrupts`` how to
stop its children, so signals stay below processes).
"""

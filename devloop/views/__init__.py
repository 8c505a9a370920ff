"""Views of the workspace for a person: the report, the roll-up of evaluations, the graph drawing, doctor.

They read locks, the ledger and the engine's judgements and write nothing a
step reads. Only the CLI imports them.
"""

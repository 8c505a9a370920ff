"""Provenance: what each step ran with and what it wrote, and what the loop spent.

Content hashes, the lock of a feature (read, write, migrate) and state.py,
the one writer of a step's state, attempts and gates; staleness with its
reasons; the per-machine verdict memo; git's index as proof of unchanged
files; the ledger of agent calls and their costs. May import only the
runtime below it.
"""

LOCK_NAME = "devloop.lock"  # plans/<feature>/devloop.lock: here, so that naming it imports nothing

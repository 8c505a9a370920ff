"""Content-hash provenance: what each step ran with and what it wrote."""

LOCK_NAME = "devloop.lock"  # plans/<feature>/devloop.lock: here, so that naming it imports nothing

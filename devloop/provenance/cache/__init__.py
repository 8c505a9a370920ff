"""The answer cache: an agent call's outputs kept under the hash of its question, restored instead of asking again.

- :mod:`.keys`: what a call's key is made of (pure);
- :mod:`.entries`: the record kept under a key, and restoring it;
- :mod:`.stores`: where entries and their blobs live (a folder, or a bucket through fsspec).

It may import ``devloop.runtime`` and the rest of ``devloop.provenance``; nothing above.
"""

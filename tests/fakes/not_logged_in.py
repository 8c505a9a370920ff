#!/usr/bin/env python3
"""Behaves like a CLI whose user is not logged in: a message on stderr, exit 1."""

import sys

print("Error: not logged in. Run `login` first.", file=sys.stderr)
sys.exit(1)

#!/usr/bin/env python3
"""Exits 0 after printing bytes that are not valid UTF-8."""

import sys

sys.stdout.buffer.write(b"VOTE: \xff\xfe\x80 garbage \xc3\x28 \xed\xa0\x80 " + bytes(range(128, 256)) + b"\n")
sys.stdout.flush()

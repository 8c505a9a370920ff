"""Thin command-line layer over the library: one module per group of commands.

The top layer: it may import every layer below and nothing imports it
(but the ``devloop`` entry point).
"""

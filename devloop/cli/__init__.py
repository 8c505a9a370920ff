"""Thin command-line layer over the library: one module per group of commands."""

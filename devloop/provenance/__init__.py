"""Content-hash provenance: what each step ran with and what it wrote."""

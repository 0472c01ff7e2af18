"""The label schema, installed as the package data ``infer.labels`` (only ``schema.json``: the corpus stays here)."""

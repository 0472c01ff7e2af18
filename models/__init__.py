"""The shipped models, installed as the package data ``infer.models`` (see ``infer/shipped.py``)."""

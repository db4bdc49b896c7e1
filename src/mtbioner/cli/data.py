"""`mtbioner` verbs of the data area (registered on the shared app)."""

from mtbioner.cli import app  # noqa: F401

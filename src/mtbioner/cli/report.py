"""`mtbioner` verbs of the report area (registered on the shared app)."""

from mtbioner.cli import app  # noqa: F401

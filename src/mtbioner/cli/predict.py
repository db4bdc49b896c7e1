"""`mtbioner` verbs of the predict area (registered on the shared app)."""

from mtbioner.cli import app  # noqa: F401

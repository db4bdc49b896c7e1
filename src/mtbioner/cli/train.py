"""`mtbioner` verbs of the train area (registered on the shared app)."""

from mtbioner.cli import app  # noqa: F401

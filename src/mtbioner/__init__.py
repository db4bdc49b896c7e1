"""mtbioner: multi-task biomedical named entity recognition (NER + bCLS + mCLS + mtCLS)."""

__version__ = "0.1.0"

"""Computations that need a trained model: `taskemb` (TaskEmb task embeddings, Vu et al. 2020)."""

"""Numbers from finished runs: `aggregate` (seed means), `predictions` (per-sentence counts), `bootstrap` (the one
bootstrap engine), `significance`, `verdicts` and `verdict_table` (the pre-registered claims), `curves` (learning
curves), `similarity` (task embeddings read back, cosine matrix). No torch, no plotting."""

"""Defaults of the report stage's settings (`report:` of params.yaml), read from the params schema, their one
home: the library functions, the `mtbioner report` options and `targets.settings` all take them from here."""

from __future__ import annotations

from typing import Any

from mtbioner.params import param_default

#: `report:` keys and their defaults.
REPORT_DEFAULTS: dict[str, Any] = param_default("report")

BOOTSTRAP_SAMPLES: int = REPORT_DEFAULTS["bootstrap_samples"]  # paired-bootstrap resamples per seed pair
BOOTSTRAP_SEED: int = REPORT_DEFAULTS["bootstrap_seed"]
ALPHA: float = REPORT_DEFAULTS["alpha"]  # significance level of the † marks
CASESTUDY_WINS: int = REPORT_DEFAULTS["casestudy_wins"]  # Table 5 sentences per dataset where joint-max is right
CASESTUDY_LOSSES: int = REPORT_DEFAULTS["casestudy_losses"]  # ... and where the baseline is right
SENTENCE_METRIC: str = REPORT_DEFAULTS["sentence_metric"]  # bCLS/mCLS score in Figures 4-5
TSNE_PERPLEXITY: float | None = REPORT_DEFAULTS["tsne_perplexity"]  # None: min(5, (n - 1) / 3)
VERDICT_SAMPLES: int = REPORT_DEFAULTS["verdict_samples"]  # two-level bootstrap resamples per claim
TASKEMB_MAX_EXAMPLES: int | None = REPORT_DEFAULTS["taskemb_max_examples"]  # None: the whole training file
#: SPEC section 5: TaskEmb's pass over the training data uses batches of 32 (a fixed part of the method).
TASKEMB_BATCH_SIZE = 32

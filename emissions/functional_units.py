"""The functional units a run's emissions are divided by: one definition for the leaderboard, the carbon
label, the Hugging Face card and the report's SCI rows (docs/guild.md, "Functional units").

- **Inferences** count only for inference runs: serving requests is their work. A training or evaluation run
  that reports an inference count (a self-reported field) would otherwise win the per-inference ranking with
  energy that served no one.
- **Tokens** count for any run that declares them: training, fine-tuning and inference all process tokens.
"""

from __future__ import annotations

from emissions.choices import RunKind


def run_inferences(kind: str, inferences_count: int | None) -> int:
    """The inferences a run served: its count if it is an inference run, else 0."""
    return int(inferences_count or 0) if kind == RunKind.INFERENCE else 0


def run_tokens(tokens_processed: int | None) -> int:
    """The tokens a run processed, as it declares them (0 when it does not)."""
    return int(tokens_processed or 0)

"""be_great's GReaT as a pool source for the downstream benchmarks (bench extra; not a test).

``GreatPool`` follows the generator contract the benchmarks use (``fit`` then
``sample(n, conditions, seed)``): GReaT is fine-tuned on the same rows as
``llm-finetune`` (``bench_llm.training_rows``) and samples with the target
category as its start column; its rows then pass samplegen's validator (schema
domains, real entities, the asked labels, no copies), which is what a user of
samplegen would keep. Rows that fail are counted in ``rejected``.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@contextmanager
def draw_cap(limit: int) -> Iterator[dict[str, int]]:
    """Count GReaT's drawn texts and complete rows; stop it after ``limit`` texts
    with no complete row (GReaT itself gives up only after 14 empty batches,
    "Breaking the generation loop", ~40 min of CPU for 60-text batches here)."""
    import be_great.great as gmod

    drawn = {"n": 0, "complete": 0}
    orig = gmod._convert_text_to_tabular_data

    def counting(text_data: Any, columns: Any, *a: Any, **k: Any) -> pd.DataFrame:
        drawn["n"] += len(text_data)
        df = orig(text_data, columns, *a, **k)
        drawn["complete"] += int((~(df == "placeholder").any(axis=1)).sum())
        if drawn["complete"] == 0 and drawn["n"] >= limit:
            raise RuntimeError(f"no complete row in {drawn['n']} drawn texts (cap {limit})")
        return df

    gmod._convert_text_to_tabular_data = counting
    try:
        yield drawn
    finally:
        gmod._convert_text_to_tabular_data = orig


class GreatPool:
    """GReaT (``be_great``) on SmolLM2-135M, validated the samplegen way."""

    def __init__(self, *, epochs: int = 1, train_rows: int = 256, batch_size: int = 8,
                 temperature: float = 0.8, rounds: int = 4, threads: int | None = None,
                 max_draws: int = 0) -> None:
        self.epochs, self.train_rows, self.batch_size = epochs, train_rows, batch_size
        self.temperature, self.rounds, self.threads = temperature, rounds, threads
        self.max_draws = max_draws  # per round, texts without a complete row; 0: 2 x asked
        self.rejected: Counter = Counter()
        self.drawn = 0

    def fit(self, table: pd.DataFrame, schema: Any, *, seed: int = 0) -> GreatPool:
        import torch
        from be_great import GReaT
        from bench_llm import great_text_tokens, training_rows
        from transformers import AutoTokenizer

        from samplegen.generators.registry import get_generator
        from samplegen.llm.models import resolve_model

        if self.threads:
            torch.set_num_threads(self.threads)
        self.schema = schema
        self.checker = get_generator("oversample").fit(table, schema, seed=seed)  # validator
        rows = training_rows(table, schema, self.train_rows, seed)[schema.names]
        rows[schema.timestamp] = rows[schema.timestamp].astype(str)
        base = str(resolve_model("smollm2").path)
        self.max_length = int(great_text_tokens(rows, AutoTokenizer.from_pretrained(base))
                              * 1.25) + 16
        self._dir = tempfile.TemporaryDirectory()
        self.model = GReaT(llm=base, experiment_dir=self._dir.name, epochs=self.epochs,
                           batch_size=self.batch_size, save_strategy="no")
        self.model.model = self.model.model.to(torch.float32)
        self.model.fit(rows.astype({c: str for c in rows.columns if rows[c].dtype == object}),
                       conditional_col=schema.category)
        return self

    def sample(self, n: int, conditions: dict[str, Any], *, seed: int = 0) -> pd.DataFrame:
        """Up to ``n`` valid rows (GReaT is asked ``rounds`` times at most)."""
        cat = self.schema.category
        rng = np.random.default_rng(seed)
        seen: set[int] = set()
        kept: list[pd.DataFrame] = []
        for _ in range(self.rounds):
            need = n - sum(len(k) for k in kept)
            if need <= 0:
                break
            cap = self.max_draws or 2 * need
            with draw_cap(cap) as drawn:
                try:
                    out = self.model.sample(n_samples=need, start_col=cat,
                                            start_col_dist={conditions[cat]: 1.0}, k=need,
                                            temperature=self.temperature,
                                            max_length=self.max_length, device="cpu")
                except Exception as e:  # noqa: BLE001 - "Breaking the generation loop"
                    log.warning("GReaT sampling failed: %s", e)
                    out = None
            self.drawn += drawn["n"]
            # be_great prints and swallows the cap's error: check the counts instead
            if out is None or (drawn["complete"] == 0 and drawn["n"] >= cap):
                self.rejected["no_complete_row"] += drawn["n"]
                break  # the next round would fail the same way
            raw = out.reindex(columns=self.schema.names)
            res = self.checker.validator.check(raw, conditions, rng=rng, seen=seen)
            self.rejected.update(res.rejected)
            kept.append(res.valid)
        return pd.concat(kept, ignore_index=True).iloc[:n] if kept else \
            pd.DataFrame(columns=self.schema.names)

"""choose_rank_alpha picks on validation rows only, by the best mean score; ties
go to the smaller weight."""

from __future__ import annotations

import types

import pytest

import downstream.tuning as tuning
from downstream import ModelOptions, choose_rank_alpha
from samplegen.errors import UsageError
from tests.downstream_toy import toy_source


def _fake_fit(scores: dict[float, list[float]], seen: list):
    """A fit_esmm double whose validation score depends on (alpha, seed)."""
    def fit(train, schema, *, valid, options, train_config):
        seen.append((len(train), len(valid), options.rank_alpha, train_config.seed))
        value = scores[options.rank_alpha][train_config.seed]

        def evaluate(df, targets):
            assert df is valid  # scored on the validation rows, never anything else
            out = {"cvr_auc@click-space": {"value": value}}
            out |= {f"cvr_auc@click-space[cat={t}]": {"value": value / 2} for t in targets}
            return out
        return types.SimpleNamespace(evaluate=evaluate)
    return fit


@pytest.fixture()
def frames():
    t = toy_source(300).table
    return t.iloc[:200], t.iloc[200:260]


def test_picks_best_mean_and_records_every_score(monkeypatch, frames) -> None:
    seen: list = []
    scores = {0.0: [0.70, 0.70], 0.1: [0.69, 0.75], 0.3: [0.72, 0.71], 1.0: [0.60, 0.90]}
    monkeypatch.setattr(tuning, "fit_esmm", _fake_fit(scores, seen))
    tr, va = frames
    c = choose_rank_alpha(tr, va, toy_source(10).schema, seeds=[0, 1], targets=["ski"],
                          options=ModelOptions(aux=True))
    assert c.alpha == 1.0 and c.grid == [0.0, 0.1, 0.3, 1.0] and c.seeds == [0, 1]
    assert [s["mean"] for s in c.scores] == pytest.approx([0.70, 0.72, 0.715, 0.75])
    assert c.scores[3]["per_target"] == {"ski": pytest.approx(0.375)}
    assert len(seen) == 8 and {(n, m) for n, m, _, _ in seen} == {(200, 60)}
    assert c.to_dict()["split"] == "validation"


def test_tie_goes_to_smaller_weight(monkeypatch, frames) -> None:
    scores = {a: [0.7] for a in (0.0, 0.1, 0.3, 1.0)}
    monkeypatch.setattr(tuning, "fit_esmm", _fake_fit(scores, []))
    c = choose_rank_alpha(*frames, toy_source(10).schema)
    assert c.alpha == 0.0


def test_needs_validation_rows_and_a_valid_grid(frames) -> None:
    tr, _ = frames
    schema = toy_source(10).schema
    with pytest.raises(UsageError, match="validation rows"):
        choose_rank_alpha(tr, tr.iloc[:0], schema)
    with pytest.raises(UsageError, match=">= 0"):
        choose_rank_alpha(tr, tr, schema, grid=[-1.0, 0.0])


def test_no_finite_validation_score_is_a_usage_error(monkeypatch, frames) -> None:
    scores = {a: [float("nan")] for a in (0.0, 1.0)}
    monkeypatch.setattr(tuning, "fit_esmm", _fake_fit(scores, []))
    with pytest.raises(UsageError, match="fixed --rank-alpha"):
        choose_rank_alpha(*frames, toy_source(10).schema, grid=[0.0, 1.0])

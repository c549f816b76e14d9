"""llm-judge: real candidates, a data model and an LLM yes/no judge (test double, tiny model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from samplegen.errors import GeneratorError
from samplegen.generators.registry import get_generator
from samplegen.sources import load_source
from tests.llm_double import DoubleBackend, tiny_model

TARGET = "theme park"


@pytest.fixture(scope="module")
def src():
    return load_source("travel-sim", n_impressions=30_000, seed=3)


def _cond(src, target=TARGET):
    s = src.schema
    return {s.category: target, s.click: 1, s.conversion: 1}


def _judge(src, backend=None, **params):
    g = get_generator("llm-judge", **{"pool_factor": 8, **params})
    g.fit(src.table, src.schema, seed=0)
    g._backend_obj = backend if backend is not None else DoubleBackend()
    return g


def _family(text: str) -> float:
    """A planted preference: families say yes."""
    return 0.99 if text.split("\n")[0].endswith("family.") else 0.01


def test_rows_are_real_entities_meeting_the_conditions(src) -> None:
    g = _judge(src)
    out = g.sample(30, _cond(src), seed=0)
    assert len(out) == 30
    assert (out["item_category"] == TARGET).all() and (out["conversion"] == 1).all()
    real_items = set(src.table.loc[src.table["item_category"] == TARGET, "item_id"])
    assert set(out["item_id"]) <= real_items
    cols = ["user_id", "user_home_region", "user_life_stage"]
    real = set(map(tuple, src.table[cols].astype(str).drop_duplicates().to_numpy()))
    assert set(map(tuple, out[cols].astype(str).to_numpy())) <= real
    assert g.describe()["judge"]["stats"]["scored"] > 0


def test_scores_and_rows_are_deterministic_for_a_seed(src) -> None:
    a, b = _judge(src), _judge(src)
    ra, rb = a.sample(12, _cond(src), seed=5), b.sample(12, _cond(src), seed=5)
    pd.testing.assert_frame_equal(ra, rb)
    pd.testing.assert_frame_equal(a.last_scores, b.last_scores)
    rc = a.sample(12, _cond(src), seed=6)
    assert not ra.equals(rc)


def test_a_judge_that_prefers_families_moves_the_selection(src) -> None:
    fam = _judge(src, DoubleBackend(judge=_family), w_data=0.0)
    none = _judge(src, judge="none", w_data=0.0)
    share = {}
    for name, g in (("judge", fam), ("proposal", none)):
        out = g.sample(40, _cond(src), seed=1)
        share[name] = float((out["user_life_stage"] == "family").mean())
    assert share["proposal"] < 0.6
    assert share["judge"] >= 0.9 and share["judge"] > share["proposal"] + 0.3


def test_no_llm_call_when_the_judge_is_ablated(src) -> None:
    class Refuses:
        name = "refuses"

        def score_choices(self, *a, **k):
            raise AssertionError("the ablation must not call the LLM")

    g = _judge(src, Refuses(), judge="none")
    out = g.sample(10, _cond(src), seed=0)
    assert len(out) == 10 and (g.last_scores["llm"] == 0).all()


def test_data_model_weights_select_likelier_rows(src) -> None:
    g = _judge(src, judge="none", pool_factor=20, sharpness=4.0)
    rng = np.random.default_rng(0)
    pool = g.proposal.candidates(400, _cond(src), rng)
    chosen = g.sample(20, _cond(src), seed=0)
    lp_pool, lp_chosen = g.data_model.log_prob(pool), g.data_model.log_prob(chosen)
    assert lp_chosen.mean() > lp_pool.mean() + 0.3


def test_bad_parameters_and_a_backend_without_scores_are_clear_errors(src) -> None:
    with pytest.raises(GeneratorError, match="judge="):
        get_generator("llm-judge", judge="maybe")
    with pytest.raises(GeneratorError, match="judge_on="):
        get_generator("llm-judge", judge_on="item")

    class TextOnly:
        name = "text-only"

    g = _judge(src, TextOnly())
    with pytest.raises(GeneratorError, match="scores answers"):
        g.sample(4, _cond(src), seed=0)


def test_judge_on_row_shows_the_offer_and_context(src) -> None:
    g = _judge(src, judge_on="row")
    row = src.table[src.table["item_category"] == TARGET].iloc[0].to_dict()
    text = g.block(row)
    assert str(row["item_destination"]) in text and str(row["platform"]) in text
    assert text.endswith("Answer:") and "Past:" in text


def test_batched_scores_equal_unbatched_and_unshared(tmp_path) -> None:
    from samplegen.llm.backends.transformers_backend import TransformersBackend

    model, tok = tiny_model()
    prefix = "user_age_band is 25-34, item_category is cruise\n"
    suffixes = ["hour is 23, platform is iOS app", "click is 1", "city is Sanya, Paris",
                "weekday is Monday, conversion is 0, hour is 7", "London"]
    one = TransformersBackend(model, tokenizer=tok, batch_size=1).score_choices(
        prefix, suffixes, (" Paris", " Tokyo"))
    many = TransformersBackend(model, tokenizer=tok, batch_size=4).score_choices(
        prefix, suffixes, (" Paris", " Tokyo"))
    plain = TransformersBackend(model, tokenizer=tok, batch_size=4, fast_attention=False)
    flat = plain.score_choices(prefix, suffixes, (" Paris", " Tokyo"))
    assert one.shape == (5, 2)
    np.testing.assert_allclose(np.exp(one).sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(one, many, atol=1e-5)
    np.testing.assert_allclose(one, flat, atol=1e-5)
    assert np.ptp(one[:, 0]) > 0  # different suffixes, different scores


def test_save_load_samples_the_same(src, tmp_path) -> None:
    from samplegen.generators.base import Generator

    g = _judge(src)
    g.save(tmp_path / "judge")
    h = Generator.load(tmp_path / "judge")
    h._backend_obj = DoubleBackend()
    pd.testing.assert_frame_equal(g.sample(8, _cond(src), seed=3), h.sample(8, _cond(src), seed=3))

"""llm-fewshot and llm-finetune on a small hand-made table (test double / tiny model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from samplegen.errors import GeneratorError, UsageError
from samplegen.generators.base import Generator
from samplegen.generators.registry import get_generator
from samplegen.llm.exemplars import ExemplarPicker
from samplegen.llm.llm_generator import generation_order
from samplegen.schema import infer_schema
from tests.llm_double import DoubleBackend, tiny_model_dir

COND = {"item_category": "cruise", "click": 1, "conversion": 1}


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    users = {f"u{i}": (["18-24", "25-34", "35-44"][i % 3], ["single", "family"][i % 2])
             for i in range(12)}
    items = {"i1": ("hotel", "Sanya", 300.0), "i2": ("hotel", "Beijing", 520.0),
             "i3": ("cruise", "Xiamen", 4200.0), "i4": ("cruise", "Sanya", 6100.0),
             "i5": ("ski trip", "Chongli", 1800.0), "i6": ("flight", "Tokyo", 1500.0)}
    rows = []
    for k in range(120):
        u = f"u{k % 12}"
        i = ["i1", "i2", "i3", "i4", "i5", "i6"][int(rng.integers(6))]
        click = int(k % 3 == 0)
        conv = int(click and k % 2 == 0 and items[i][0] != "ski trip")
        rows.append({"user_id": u, "user_age_band": users[u][0], "user_life_stage": users[u][1],
                     "item_id": i, "item_category": items[i][0], "item_destination": items[i][1],
                     "item_price": items[i][2], "hour": int(rng.integers(24)),
                     "platform": ["iOS app", "web"][k % 2], "click": click, "conversion": conv})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data():
    df = _table()
    return df, infer_schema(df)


def _fewshot(data, free_texts=(), **params) -> Generator:
    df, schema = data
    g = get_generator("llm-fewshot", **params)
    g.fit(df, schema, seed=0)
    g._backend_obj = DoubleBackend(free_texts)
    return g


def test_generation_order_puts_entity_attributes_before_keys(data) -> None:
    df, schema = data
    g = _fewshot(data)
    assert g.order == ["user_age_band", "user_life_stage", "user_id", "item_category",
                       "item_destination", "item_price", "item_id", "hour", "platform",
                       "click", "conversion"]
    assert generation_order(schema, []) == [c for c in schema.names]


def test_fewshot_constrained_rows_are_all_valid_and_real_entities(data) -> None:
    df, schema = data
    df = schema.coerce(df)
    g = _fewshot(data, cot_tokens=0, rows_per_prompt=4)
    out = g.sample(10, COND, seed=1)
    rep = g.last_report.to_dict()
    assert len(out) == 10 and set(rep["rejected"]) <= {"duplicate", "copy_of_real"}  # none invalid
    assert (out["item_category"] == "cruise").all() and (out["conversion"] == 1).all()
    assert set(out["item_id"]) <= {"i3", "i4"}
    real_items = set(map(tuple, df[["item_id", "item_destination", "item_price"]].values))
    assert set(map(tuple, out[["item_id", "item_destination", "item_price"]].values)) <= real_items
    same = _fewshot(data, cot_tokens=0, rows_per_prompt=4).sample(10, COND, seed=1)
    pd.testing.assert_frame_equal(out, same)


def test_fewshot_prompt_quotes_values_as_data_and_records_template(data) -> None:
    g = _fewshot(data)
    ex = g._picker(COND).draw(np.random.default_rng(0))
    assert len(ex) == 5 * 2 or len(ex) == len(g.positives[g.positives.item_category == "cruise"])
    text = g.render(COND, ex, 1)
    assert "item_category is cruise, click is 1, conversion is 1" in text
    info = g.describe()["llm"]
    assert info["template"]["name"] == "fewshot_cot" and len(info["template"]["sha256"]) == 64
    assert info["backend"] == "transformers" and info["model"] == "smollm2"


def test_cold_start_exemplars_come_from_other_positives_and_target_clicks(data) -> None:
    g = _fewshot(data)
    pool, rule = g.exemplar_pool({"item_category": "ski trip", "click": 1, "conversion": 1})
    assert rule.startswith("other categories")
    assert (pool["conversion"] == 1).sum() == len(g.positives)
    assert set(pool.loc[pool.conversion == 0, "item_category"]) == {"ski trip"}


def test_a_target_with_few_positives_shows_all_of_them_and_tops_up(data) -> None:
    g = _fewshot(data, n_clusters=6, per_cluster=2)
    n_cruise = int((g.positives.item_category == "cruise").sum())
    assert 0 < n_cruise < 12
    for seed in range(3):
        ex = g._picker(COND).draw(np.random.default_rng(seed))
        assert len(ex) == 12
        target = (ex.item_category == "cruise") & (ex.conversion == 1)
        assert target.sum() == n_cruise  # every target positive, once
        others = ex[~target]  # the rest: other categories' positives or target clicked rows
        assert ((others.item_category != "cruise") == (others.conversion == 1)).all()
    assert "topped up" in g.sample_notes["click=1,conversion=1,item_category=cruise"]


def test_unconstrained_fewshot_counts_unparsable_rows(data) -> None:
    good = ("user_age_band is 18-24, user_life_stage is single, user_id is u0, "
            "item_category is cruise, item_destination is Xiamen, item_price is 4200, "
            "item_id is i3, hour is 7, platform is web, click is 1, conversion is 1")
    g = _fewshot(data, constrained=False, cot_tokens=0, patience=2, rows_per_prompt=1,
                 free_texts=[good, "item_category is Atlantis, oops", good.replace("7", "99")])
    out = g.sample(3, COND, seed=0)
    rep = g.last_report.to_dict()
    assert len(out) == 1 and rep["exhausted"]
    assert rep["rejected"]["decode:malformed"] >= 1
    assert rep["rejected"]["decode:out_of_domain:hour"] >= 1


def test_context_window_too_small_is_a_usage_error(data) -> None:
    g = _fewshot(data, cot_tokens=0, context_window=50)
    with pytest.raises(GeneratorError, match="context window is 50") as e:
        g.sample(2, COND, seed=0)
    assert isinstance(e.value, UsageError)


def test_template_syntax_error_is_a_usage_error(data, tmp_path) -> None:
    bad = tmp_path / "bad.j2"
    bad.write_text("rows {% for r in exemplars %}\n{{ r }")
    with pytest.raises(UsageError, match="syntax error"):
        _fewshot(data, template=str(bad))


def test_fewshot_save_load_samples_the_same(data, tmp_path) -> None:
    g = _fewshot(data, cot_tokens=0)
    g.save(tmp_path / "g")
    h = Generator.load(tmp_path / "g")
    h._backend_obj = DoubleBackend()
    a = g.sample(4, COND, seed=5)
    b = h.sample(4, COND, seed=5)
    pd.testing.assert_frame_equal(a, b)


def test_exemplar_picker_draws_two_rows_from_each_of_five_clusters(data) -> None:
    df, schema = data
    pool = schema.coerce(df[df.click == 1]).reset_index(drop=True)
    p = ExemplarPicker(pool, schema, n_clusters=5, per_cluster=2, seed=0)
    assert len(p.clusters) == 5 and all(len(m) >= 2 for m in p.clusters)
    rng = np.random.default_rng(0)
    picks = []
    orig = rng.choice
    rng_choice = []

    class Spy:
        def choice(self, members, size, replace):
            out = orig(members, size=size, replace=replace)
            rng_choice.append((set(members.tolist()), out.tolist()))
            picks.extend(out.tolist())
            return out

        def shuffle(self, x):
            rng.shuffle(x)

    ex = p.draw(Spy())
    assert len(ex) == 10 and len(set(picks)) == 10
    assert [len(o) for _, o in rng_choice] == [2] * 5
    assert all(set(o) <= m for m, o in rng_choice)


def test_finetune_tiny_model_trains_and_samples_valid_rows(data, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SAMPLEGEN_CACHE_DIR", str(tmp_path / "cache"))
    df, schema = data
    model = tiny_model_dir(tmp_path / "tiny")
    g = get_generator("llm-finetune", model=str(model), max_train_rows=12, train_batch_size=4,
                      train_layers=1, llm_batch_size=8, threads=1)
    g.fit(df, schema, seed=0)
    stats = g.describe()["llm"]["train"]
    assert stats["rows"] == 12 and len(stats["epoch_seconds"]) == 1
    out = g.sample(6, COND, seed=0)
    assert len(out) == 6 and g.last_report.to_dict()["rejected_total"] == 0
    assert set(out["item_id"]) <= {"i3", "i4"}
    again = get_generator("llm-finetune", model=str(model), max_train_rows=12,
                          train_batch_size=4, train_layers=1, llm_batch_size=8, threads=1)
    again.fit(df, schema, seed=0)
    assert again.tuned_path == g.tuned_path  # cached: no second training


def test_finetune_prompts_look_like_training_rows(data, tmp_path, monkeypatch) -> None:
    """Training rows start with the start token and never end a prefix with a lone space; an
    empty prompt is refused by vLLM. So every prompt starts with BOS and has no trailing space."""
    monkeypatch.setenv("SAMPLEGEN_CACHE_DIR", str(tmp_path / "cache"))
    df, schema = data
    model = tiny_model_dir(tmp_path / "tiny")
    seen: list[str] = []

    class Recording(DoubleBackend):
        def generate(self, prompts, sampling, constraint=None):
            seen.extend(prompts)
            return super().generate(prompts, sampling, constraint)

    for constrained in (True, False):
        g = get_generator("llm-finetune", model=str(model), max_train_rows=12,
                          train_batch_size=4, train_layers=1, constrained=constrained, threads=1)
        g.fit(df, schema, seed=0)
        g._backend_obj = Recording()
        g.sample(2, COND, seed=0)
        bos = g._start_text()
        assert bos and seen and all(p.startswith(bos) and not p.endswith(" ") for p in seen)
        seen.clear()

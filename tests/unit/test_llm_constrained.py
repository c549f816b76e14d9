"""Constrained decoding: no value outside the domain can be emitted; the parser never raises."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samplegen.catalog import build_catalogs
from samplegen.codec import RowCodec
from samplegen.llm.base import SamplingParams
from samplegen.llm.constrained import NumberSpec, build_row_constraint, shuffled_order
from samplegen.llm.guided import RowProgram, TokenTables
from samplegen.schema import Column, ColumnType, Entity, Role, Schema
from tests.llm_double import tiny_model

SCHEMA = Schema([
    Column("user_id", Role.USER, ColumnType.CATEGORICAL, values=["u1", "u2", "u3"], key=True),
    Column("user_age", Role.USER, ColumnType.CATEGORICAL, values=["18-24", "25-34"]),
    Column("item_id", Role.ITEM, ColumnType.CATEGORICAL, values=["i1", "i2", "i3"], key=True),
    Column("item_category", Role.CATEGORY, ColumnType.CATEGORICAL,
           values=["hotel", "cruise", "ski trip"]),
    Column("city", Role.ITEM, ColumnType.CATEGORICAL, values=["Sanya", "Bei, jing", "Tokyo"]),
    Column("price", Role.CONTEXT, ColumnType.NUMERICAL, min=10.0, max=250.0, decimals=1),
    Column("click", Role.CLICK, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0, integer=True),
    Column("conversion", Role.CONVERSION, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0,
           integer=True),
], entities=[Entity("user", "user_id", ["user_age"]),
             Entity("item", "item_id", ["item_category", "city"])])

TABLE = pd.DataFrame({
    "user_id": ["u1", "u2", "u3"], "user_age": ["18-24", "25-34", "25-34"],
    "item_id": ["i1", "i2", "i3"], "item_category": ["hotel", "cruise", "cruise"],
    "city": ["Sanya", "Bei, jing", "Tokyo"], "price": [12.5, 99.0, 250.0],
    "click": [1, 1, 0], "conversion": [1, 0, 0]})
ORDER = ["user_age", "user_id", "item_category", "city", "item_id", "price", "click", "conversion"]
FORCED = {"item_category": "cruise", "click": 1, "conversion": 1}


@pytest.fixture(scope="module")
def rc():
    codec = RowCodec(SCHEMA, columns=ORDER)
    return build_row_constraint(codec, ORDER, forced=FORCED,
                                catalogs=build_catalogs(SCHEMA.coerce(TABLE), SCHEMA))


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


def test_number_spec_prefixes() -> None:
    spec = NumberSpec(10.0, 250.0, 1)
    assert spec.feasible("2") and spec.feasible("25") and spec.feasible("250")
    assert not spec.feasible("251") and not spec.feasible("2500") and not spec.feasible("-")
    assert spec.feasible("99.") and spec.feasible("99.5", complete=True)
    assert not spec.feasible("99.55") and not spec.feasible("05")
    assert not spec.feasible("9", complete=True) and spec.feasible("9")  # 9x grows into range
    assert not spec.feasible("250.1", complete=True)
    neg = NumberSpec(-5.0, 3.0, 0)
    assert neg.feasible("-") and neg.feasible("-5", complete=True)
    assert not neg.feasible("-6") and not neg.feasible("4") and not neg.feasible("-0", complete=True)


def test_regex_matches_exactly_the_catalog_rows(rc) -> None:
    rx = re.compile(rc.regex())
    ok = ("user_age is 25-34, user_id is u2, item_category is cruise, "
          'city is "Bei, jing", item_id is i2, price is 99.5, click is 1, conversion is 1')
    assert rx.fullmatch(ok) and rc.allows(ok)
    wrong_city = ok.replace('"Bei, jing", item_id is i2', "Tokyo, item_id is i2")
    assert rx.fullmatch(wrong_city) is None and not rc.allows(wrong_city)
    out_of_range = ok.replace("99.5", "999.5")
    assert not rc.allows(out_of_range)


def test_shuffled_order_keeps_entities_together_so_the_regex_ties_them() -> None:
    catalogs = build_catalogs(SCHEMA.coerce(TABLE), SCHEMA)
    blocks = [cat.columns for cat in catalogs]
    real = {"user_id": "u2", "user_age": "25-34", "item_id": "i2", "item_category": "cruise",
            "city": '"Bei, jing"', "price": "99.5", "click": "1", "conversion": "1"}
    orders = set()
    for seed in range(40):
        order = shuffled_order(ORDER, FORCED, np.random.default_rng(seed), blocks)
        assert order == shuffled_order(ORDER, FORCED, np.random.default_rng(seed), blocks)
        assert sorted(order) == sorted(ORDER)
        for b in blocks:  # each entity's columns are adjacent
            pos = sorted(order.index(c) for c in b)
            assert pos == list(range(pos[0], pos[0] + len(b))), order
        assert order[0] in ("click", "conversion") or order[0] in blocks[1]  # a condition leads
        orders.add(tuple(order))
        rc = build_row_constraint(RowCodec(SCHEMA, columns=order), order, forced=FORCED,
                                  catalogs=catalogs)
        ok = ", ".join(f"{c} is {real[c]}" for c in order)
        assert re.fullmatch(rc.regex(), ok) and rc.allows(ok)
        mixed = ok.replace('city is "Bei, jing"', "city is Tokyo")  # i2 is not in Tokyo
        assert re.fullmatch(rc.regex(), mixed) is None and not rc.allows(mixed), order
    assert len(orders) > 10
    free = shuffled_order(ORDER, FORCED, np.random.default_rng(0))  # no blocks: any order
    assert set(free[:3]) == set(FORCED)


@given(st.text(max_size=60))
def test_regex_escape_matches_the_text_literally(text: str) -> None:
    from samplegen.llm.constrained import regex_escape

    assert re.fullmatch(regex_escape(text), text, flags=re.DOTALL)
    assert regex_escape("4-star, a b") == "4-star, a b"  # no escaped spaces (xgrammar warns)


def test_regex_lists_a_bounded_spread_of_many_entities() -> None:
    from samplegen.llm import constrained

    n = constrained.MAX_REGEX_ENTITIES * 3
    table = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)], "user_age": ["18-24", "25-34"] * (n // 2),
        "item_id": "i2", "item_category": "cruise", "city": "Bei, jing", "price": 99.0,
        "click": 1, "conversion": 1})
    schema = Schema([
        Column("user_id", Role.USER, ColumnType.CATEGORICAL, values=list(table.user_id), key=True),
        *SCHEMA.columns[1:]], entities=SCHEMA.entities)
    rc = build_row_constraint(RowCodec(schema, columns=ORDER), ORDER, forced=FORCED,
                              catalogs=build_catalogs(schema.coerce(table), schema))
    rx = rc.regex()
    listed = set(re.findall(r"user_id is (u\d+)", rx))
    assert len(listed) == constrained.MAX_REGEX_ENTITIES
    tail = ', item_category is cruise, city is "Bei, jing", item_id is i2, price is 99, ' \
           "click is 1, conversion is 1"
    for i in (0, 1, n - 2, n - 1, 7):
        text = f"user_age is {table.user_age[i]}, user_id is u{i}" + tail
        assert rc.allows(text)  # every real user is allowed ...
        assert bool(re.fullmatch(rx, text)) == (f"u{i}" in listed)  # ... the regex lists some
    wrong = "user_age is 25-34, user_id is u0" + tail  # u0 is 18-24
    assert not re.fullmatch(rx, wrong) and not rc.allows(wrong)


def _adversarial_logits(tables: TokenTables, vocab: int, bad: str) -> np.ndarray:
    """Logits that push hard towards the tokens of an out-of-domain value."""
    z = np.zeros(vocab)
    for t in tables.encode(" " + bad) + tables.encode(bad):
        z[t] = 50.0
    return z


@pytest.mark.parametrize("bad", ["Paris", "hotel", "u9", "9999", "i1"])
def test_out_of_domain_value_is_never_emitted(rc, tiny, bad: str) -> None:
    _, tok = tiny
    tables = TokenTables(tok)
    codec = RowCodec(SCHEMA, columns=ORDER)
    rng = np.random.default_rng(0)
    for _ in range(20):
        prog = RowProgram(rc, tables)
        prog.start()
        while not prog.done:
            prog.step(_adversarial_logits(tables, len(tok), bad), 1.0, 1.0, rng)
        text = prog.text()
        res = codec.decode(text)
        assert res.ok, (text, res.reason)
        assert rc.allows(text)
        row = res.row
        assert row["item_category"] == "cruise" and row["click"] == 1 and row["conversion"] == 1
        assert (row["item_id"], row["city"]) in {("i2", "Bei, jing"), ("i3", "Tokyo")}
        assert 10.0 <= row["price"] <= 250.0 and round(row["price"], 1) == row["price"]


def test_tiny_model_backend_batched_rows_are_all_valid(rc, tiny) -> None:
    from samplegen.llm.backends.transformers_backend import TransformersBackend

    model, tok = tiny
    backend = TransformersBackend(model, tokenizer=tok, batch_size=4, threads=1)
    codec = RowCodec(SCHEMA, columns=ORDER)
    texts = backend.generate(["a row:"] * 6 + ["another prompt"] * 2, SamplingParams(seed=3), rc)
    assert len(texts) == 8
    for t in texts:
        assert codec.decode(t).ok and rc.allows(t)
    again = backend.generate(["a row:"] * 6 + ["another prompt"] * 2, SamplingParams(seed=3), rc)
    assert again == texts  # same seed, same rows


def test_guided_run_matches_unbatched_greedy(rc, tiny) -> None:
    """Batched, padded KV-cache decoding chooses what a one-row run chooses (greedy)."""
    from samplegen.llm.backends.transformers_backend import TransformersBackend

    model, tok = tiny
    sp = SamplingParams(temperature=0.0, seed=0)
    one = TransformersBackend(model, tokenizer=tok, batch_size=1)
    many = TransformersBackend(model, tokenizer=tok, batch_size=8)
    prompts = ["x", "a much longer prompt here", "mid prompt"]
    assert many.generate(prompts, sp, rc) == one.generate(prompts, sp, rc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_raises_on_random_model_output(text: str) -> None:
    codec = RowCodec(SCHEMA, columns=ORDER)
    res = codec.decode(text)
    assert res.ok or isinstance(res.reason, str)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["user_age is ", "25-34", ", ", "price is ", "9", ".", "5",
                                 "Paris", '"', "click is 1", "\n", "NaN", "is"]), max_size=30))
def test_parser_never_raises_on_row_like_noise(parts: list[str]) -> None:
    codec = RowCodec(SCHEMA, columns=ORDER)
    res = codec.decode("".join(parts))
    assert res.ok or res.reason


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_random_logits_always_give_allowed_rows(rc, tiny, seed: int) -> None:
    _, tok = tiny
    tables = TokenTables(tok)
    rng = np.random.default_rng(seed)
    prog = RowProgram(rc, tables)
    prog.start()
    while not prog.done:
        prog.step(rng.normal(scale=5.0, size=len(tok)), 1.0, 0.9, rng)
    assert rc.allows(prog.text())


def test_gqa_attention_gives_the_same_rows_as_standard_sdpa(rc, tiny) -> None:
    from samplegen.llm.backends.transformers_backend import TransformersBackend

    model, tok = tiny
    sp = SamplingParams(temperature=0.0, seed=0)
    prompts = ["shared prompt"] * 3 + ["other"]
    fast = TransformersBackend(model, tokenizer=tok, batch_size=4).generate(prompts, sp, rc)
    plain = TransformersBackend(model, tokenizer=tok, batch_size=4, fast_attention=False)
    assert plain.generate(prompts, sp, rc) == fast


def test_shared_prefix_attention_matches_a_full_cache(rc, tiny) -> None:
    """Identical prompts are prefilled once and attended to as one shared prefix; the logits
    (hence greedy rows) match the plain path, which feeds every prompt in full."""
    from samplegen.llm.backends.transformers_backend import TransformersBackend

    model, tok = tiny
    prompts = ["a long shared few-shot prompt, the same for every row of the batch"] * 4
    fast = TransformersBackend(model, tokenizer=tok, batch_size=4)
    plain = TransformersBackend(model, tokenizer=tok, batch_size=4, fast_attention=False)
    for seed in range(3):
        sp = SamplingParams(temperature=0.0 if seed == 0 else 1.0, seed=seed)
        assert fast.generate(prompts, sp, rc) == plain.generate(prompts, sp, rc)
    assert fast.stats["prefix_reused_tokens"] > 0  # the second call reused the first prefill


def test_number_regex_is_exact_for_bounded_ranges() -> None:
    from samplegen.llm.numbers import _int_range_regex

    for lo, hi in [(0, 0), (0, 23), (10, 250), (95, 105), (7, 1234)]:
        rx = re.compile(_int_range_regex(lo, hi))
        assert {i for i in range(2 * hi + 20) if rx.fullmatch(str(i))} == set(range(lo, hi + 1))
    rx = re.compile(NumberSpec(10.0, 250.0, 1).regex())
    assert all(rx.fullmatch(t) for t in ["10", "249.9", "250", "250.0", "99.5"])
    assert not any(rx.fullmatch(t) for t in ["250.5", "299", "9", "9.5", "100.25", "010"])


@pytest.mark.parametrize("prior", [False, True])
def test_frequency_prior_weighs_values_by_how_many_entities_hold_them(tiny, prior: bool) -> None:
    _, tok = tiny
    n = 10
    table = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(n)],
        "user_age": ["18-24"] + ["25-34"] * (n - 1),
        "item_id": ["i1"] * n, "item_category": ["cruise"] * n, "city": ["Tokyo"] * n,
        "price": [20.0] * n, "click": [1] * n, "conversion": [1] * n})
    schema = Schema([*(c for c in SCHEMA.columns if c.name != "user_id"),
                     Column("user_id", Role.USER, ColumnType.CATEGORICAL,
                            values=list(table["user_id"]), key=True)],
                    entities=SCHEMA.entities)
    codec = RowCodec(schema, columns=ORDER)
    rc = build_row_constraint(codec, ORDER, forced=FORCED,
                              catalogs=build_catalogs(schema.coerce(table), schema))
    rc.frequency_prior = prior
    tables, rng = TokenTables(tok), np.random.default_rng(0)
    ages = []
    for _ in range(300):  # a model with no preference at all (flat logits)
        prog = RowProgram(rc, tables)
        prog.start()
        while not prog.done:
            prog.step(np.zeros(len(tok)), 1.0, 1.0, rng)
        ages.append(codec.decode(prog.text()).row["user_age"])
    share = float(np.mean(np.array(ages) == "25-34"))
    if prior:  # as often as entities hold it (9 of 10)
        assert 0.84 < share < 0.96
    else:  # one of two distinct values, whatever the catalogue holds
        assert 0.35 < share < 0.65

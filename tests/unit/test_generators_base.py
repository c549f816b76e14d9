"""Generator contract: the validate/dedupe loop, rejects by reason, entity catalogs, registry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from samplegen.catalog import build_catalogs, consistency_problems, infer_entities, resolve_entities
from samplegen.errors import GeneratorError, UsageError
from samplegen.generators import (
    Generator,
    RowValidator,
    generator_class,
    get_generator,
    list_generators,
    register_generator,
)
from samplegen.generators.registry import _CLASSES, _LAZY
from samplegen.schema import Column, ColumnType, Entity, Role, Schema

C, N = ColumnType.CATEGORICAL, ColumnType.NUMERICAL


def _schema() -> Schema:
    lab = dict(min=0.0, max=1.0, decimals=0, integer=True)
    return Schema([
        Column("item_id", Role.ITEM, C, values=["i1", "i2", "i3"], key=True),
        Column("cat", Role.CATEGORY, C, values=["cruise", "ski"]),
        Column("price", Role.ITEM, N, min=10.0, max=100.0, decimals=0, integer=True),
        Column("hour", Role.CONTEXT, N, min=0.0, max=23.0, decimals=0, integer=True),
        Column("click", Role.CLICK, N, **lab),
        Column("conversion", Role.CONVERSION, N, **lab),
    ], [Entity("item", "item_id", ["cat", "price"])])


REAL = pd.DataFrame({
    "item_id": ["i1", "i1", "i2", "i3"],
    "cat": ["cruise", "cruise", "ski", "cruise"],
    "price": [50.0, 50.0, 20.0, 90.0],
    "hour": [1.0, 2.0, 3.0, 4.0],
    "click": [1, 1, 0, 1],
    "conversion": [1, 0, 0, 0],
})


class Scripted(Generator):
    """Returns pre-set batches in turn (then empty frames)."""

    name = "scripted"
    default_params = {"batches": None}

    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self.fit_note = "nothing to fit"

    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        batches = self.params["batches"]
        k = getattr(self, "_k", 0)
        self._k = k + 1
        return batches[k].copy() if k < len(batches) else REAL.iloc[:0].copy()


def _rows(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(REAL.columns))


def test_validator_rejects_each_reason_once() -> None:
    v = RowValidator.from_table(REAL, _schema())
    raw = _rows(
        ("i1", "cruise", 50, 5, 1, 1),      # valid
        ("i1", "cruise", 50, 5, 1, 1),      # duplicate of the first
        ("i1", "cruise", 50, 1, 1, 1),      # copy of real row 0
        ("i9", "cruise", 50, 6, 1, 1),      # unknown key, attributes of i1: reused -> valid
        ("i2", "ski", 20, 30, 1, 1),        # hour out of range (and condition fails later)
        ("i1", "cruise", 50, 7, 0, 1),      # conversion without click
        ("i1", "cruise", 50, 8, 2, 1),      # bad label
        ("i2", "ski", 20, 9, 1, 1),         # condition cat=cruise fails
    )
    res = v.check(raw, {"cat": "cruise", "click": 1, "conversion": 1},
                  rng=np.random.default_rng(0), seen=set())
    assert dict(res.rejected) == {"duplicate": 1, "copy_of_real": 1, "out_of_range:hour": 1,
                                  "conversion_without_click": 1, "bad_label:click": 1,
                                  "condition_mismatch:cat": 1}
    assert res.valid["item_id"].tolist() == ["i1", "i1"]
    assert res.valid["hour"].tolist() == [5.0, 6.0]
    assert dict(res.repaired) == {"entity_reused:item": 1}
    assert len(res.examples) == 6 and {e["reason"] for e in res.examples} == set(res.rejected)


def test_entity_reuse_respects_conditions_and_reject_policy() -> None:
    s = _schema()
    cats = build_catalogs(REAL, s)
    # i2 is a ski item: a "cruise" row that names i2 must not keep i2
    df = _rows(("i2", "cruise", 20, 5, 1, 1))
    out, reasons, repaired = resolve_entities(df, cats, {"cat": "cruise"},
                                              rng=np.random.default_rng(0))
    assert reasons.tolist() == [None]
    assert out.loc[0, "item_id"] in ("i1", "i3") and out.loc[0, "cat"] == "cruise"
    assert repaired == {"entity_reused:item": 1}
    _, reasons, _ = resolve_entities(df, cats, {"cat": "cruise"}, rng=np.random.default_rng(0),
                                     policy="reject")
    assert reasons.tolist() == ["entity_mismatch:item"]
    # no real item meets cat=ski and price 90 exactly; ski exists -> reused to i2
    out, reasons, _ = resolve_entities(_rows(("i3", "ski", 90, 5, 1, 1)), cats, {"cat": "ski"},
                                       rng=np.random.default_rng(0))
    assert out.loc[0, ["item_id", "price"]].tolist() == ["i2", 20.0]
    assert len(consistency_problems(_rows(("i2", "cruise", 20, 5, 1, 1)), cats)) == 1


def test_inferred_entities_use_functional_dependencies() -> None:
    s = Schema([Column(c.name, c.role, c.type, c.values, c.min, c.max, c.decimals, c.integer,
                       key=c.key) for c in _schema().columns])
    ents = infer_entities(REAL, s)
    assert [(e.name, e.key, e.attributes) for e in ents] == [("item", "item_id", ["cat", "price"])]


def test_conditions_are_checked_and_normalized() -> None:
    v = RowValidator(_schema())
    assert v.check_conditions({"cat": "ski", "click": "1", "conversion": 1}) == \
        {"cat": "ski", "click": 1, "conversion": 1}
    with pytest.raises(UsageError, match="not in the column's domain"):
        v.check_conditions({"cat": "mars"})
    with pytest.raises(UsageError, match="not in the schema"):
        v.check_conditions({"nope": 1})
    with pytest.raises(UsageError, match="conversion implies click"):
        v.check_conditions({"click": 0, "conversion": 1})


def test_loop_exact_count_surplus_and_report() -> None:
    good = _rows(*[("i1", "cruise", 50, h, 1, 1) for h in range(5, 12)])
    g = Scripted(batches=[good.iloc[:2], _rows(("i2", "ski", 20, 5, 1, 1)), good.iloc[2:]])
    g.fit(REAL, _schema())
    out = g.sample(4, {"cat": "cruise"})
    r = g.last_report
    assert len(out) == 4 and out["hour"].tolist() == [5.0, 6.0, 7.0, 8.0]
    assert (r.requested, r.produced, r.drawn, r.surplus, r.batches) == (4, 4, 8, 3, 3)
    assert dict(r.rejected) == {"condition_mismatch:cat": 1}
    assert r.drawn == r.produced + sum(r.rejected.values()) + r.surplus
    assert list(out.columns) == _schema().names


def test_loop_patience_runs_out_with_partial_result() -> None:
    g = Scripted(batches=[_rows(("i1", "cruise", 50, 5, 1, 1))], patience=3)
    g.fit(REAL, _schema())
    out = g.sample(5)
    assert len(out) == 1 and g.last_report.exhausted and g.last_report.batches == 4


def test_exclude_hashes_dedupes_across_calls() -> None:
    row = _rows(("i1", "cruise", 50, 5, 1, 1))
    g = Scripted(batches=[row, row], patience=1)
    g.fit(REAL, _schema())
    seen: set[int] = set()
    assert len(g.sample(1, exclude_hashes=seen)) == 1
    g._k = 1
    assert len(g.sample(1, exclude_hashes=seen)) == 0
    assert g.last_report.rejected == {"duplicate": 1}


def test_bad_calls() -> None:
    with pytest.raises(GeneratorError, match="no parameter"):
        Scripted(nope=1)
    g = Scripted(batches=[])
    with pytest.raises(GeneratorError, match="before fit"):
        g.sample(3)
    g.fit(REAL, _schema())
    for bad in (0, -1, 2.5):
        with pytest.raises(UsageError, match="positive integer"):
            g.sample(bad)
    with pytest.raises(GeneratorError, match="lacks schema column"):
        Scripted(batches=[]).fit(REAL.drop(columns=["hour"]), _schema())


def test_registry_lists_builtins_and_registers_explicitly() -> None:
    names = list_generators()
    for n in ("sdv-gaussian-copula", "sdv-ctgan", "sdv-tvae", "sdv-copulagan", "oversample",
              "smote", "llm-fewshot", "llm-finetune", "llm-judge"):
        assert n in names
    assert _LAZY["llm-fewshot"] == "samplegen.llm.fewshot:FewShotGenerator"
    with pytest.raises(UsageError, match="unknown generator 'nope'"):
        get_generator("nope")
    try:
        register_generator("scripted-test")(Scripted)
        assert generator_class("scripted-test") is Scripted
        assert isinstance(get_generator("scripted-test", batches=[]), Scripted)
    finally:
        _CLASSES.pop("scripted-test", None)
        Scripted.name = "scripted"


def test_save_load_round_trip(tmp_path) -> None:
    try:
        register_generator("scripted-test")(Scripted)
        good = _rows(*[("i1", "cruise", 50, h, 1, 1) for h in range(5, 9)])
        g = Scripted(batches=[good]).fit(REAL, _schema())
        g.save(tmp_path / "m")
        g2 = Generator.load(tmp_path / "m")
        assert type(g2) is Scripted and g2.params["batch_size"] == 1000
        pd.testing.assert_frame_equal(g2.sample(4), g.sample(4))
    finally:
        _CLASSES.pop("scripted-test", None)
        Scripted.name = "scripted"
    with pytest.raises(GeneratorError, match="holds no saved generator"):
        Generator.load(tmp_path / "empty")


def test_row_hashes_equal_pandas_object_hashing_with_missing_values() -> None:
    from samplegen.generators.validation import content_columns, row_hashes

    schema = Schema([*_schema().columns, Column("t", Role.TIMESTAMP, ColumnType.DATETIME)],
                    _schema().entities)
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({
        "item_id": rng.choice(["i1", "i2", "i3", None], n).astype(object),
        "cat": rng.choice(["cruise", "ski"], n).astype(object),
        "price": rng.choice([10.0, 55.0, np.nan], n),
        "hour": rng.integers(0, 24, n).astype("int64"),
        "click": rng.integers(0, 2, n), "conversion": rng.integers(0, 2, n),
        "t": pd.to_datetime(rng.choice(["2026-01-01 00:00:04", "2026-02-03 00:00:00", None], n)),
    })
    ref = pd.util.hash_pandas_object(df[content_columns(schema)].astype(object), index=False)
    np.testing.assert_array_equal(row_hashes(df, schema), ref.to_numpy())
    assert len(np.unique(row_hashes(df, schema))) == len(df.drop_duplicates())

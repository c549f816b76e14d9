"""Level estimate (empirical Bayes over categories) and weights that reach it."""

import numpy as np
import pandas as pd
import pytest

from samplegen.errors import DataError, UsageError
from samplegen.level import (
    WEIGHT_COL,
    estimate_levels,
    level_weight,
    parse_level,
    weigh_synthetic,
)
from samplegen.schema import Column, ColumnType, Role, Schema


def _schema(aux: bool = False) -> Schema:
    cols = [Column("cat", Role.CATEGORY, ColumnType.CATEGORICAL),
            Column("click", Role.CLICK, ColumnType.CATEGORICAL),
            Column("conversion", Role.CONVERSION, ColumnType.CATEGORICAL)]
    if aux:
        cols.append(Column("aux", Role.AUX_LABEL, ColumnType.CATEGORICAL))
    return Schema(cols)


def _table(spec: dict[str, tuple[int, int, int]], aux_rate: dict[str, float] | None = None
           ) -> pd.DataFrame:
    """Per category (impressions, clicks, conversions) as rows; aux positives at a rate."""
    parts = []
    for c, (n, k, y) in spec.items():
        click = np.r_[np.ones(k), np.zeros(n - k)].astype(int)
        conv = np.r_[np.ones(y), np.zeros(n - y)].astype(int)
        df = pd.DataFrame({"cat": c, "click": click, "conversion": conv})
        if aux_rate is not None:
            a = int(round(aux_rate[c] * n))
            df["aux"] = np.r_[np.ones(a), np.zeros(n - a)].astype(int)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def _weighted_rate(train: pd.DataFrame, syn: pd.DataFrame, cat: str) -> float:
    rows = pd.concat([train.assign(**{WEIGHT_COL: 1.0}), syn], ignore_index=True)
    rows = rows[(rows["cat"] == cat) & (rows["click"] == 1)]
    return float((rows[WEIGHT_COL] * rows["conversion"]).sum() / rows[WEIGHT_COL].sum())


def test_weights_reproduce_the_target_rate_exactly() -> None:
    train = _table({"a": (1000, 200, 2), "b": (500, 50, 1)})
    syn = pd.DataFrame({"cat": ["a"] * 7 + ["b"] * 3, "click": 1, "conversion": 1})
    out, rep = weigh_synthetic(syn, train, _schema(), {"a": 0.05, "b": 0.03})
    assert _weighted_rate(train, out, "a") == pytest.approx(0.05, abs=1e-12)
    assert _weighted_rate(train, out, "b") == pytest.approx(0.03, abs=1e-12)
    assert rep["a"]["reached"] and rep["b"]["reached"]
    # (2 + w*7) / (200 + w*7) = 0.05  ->  w = 8 / (7 * 0.95)
    assert rep["a"]["weight"] == pytest.approx(8 / (7 * 0.95))


def test_weights_with_labelled_soft_rows_and_existing_weights() -> None:
    train = _table({"a": (1000, 100, 1)})
    syn = pd.DataFrame({"cat": "a", "click": 1, "conversion": [0.9, 0.2, 0.0, 0.5],
                        WEIGHT_COL: [1.0, 2.0, 1.0, 1.0]})
    out, _ = weigh_synthetic(syn, train, _schema(), {"a": 0.1})
    assert _weighted_rate(train, out, "a") == pytest.approx(0.1, abs=1e-12)


def test_unreachable_rate_gives_weight_zero() -> None:
    # real rate already 0.1 and the synthetic rows are all positive: 0.05 is out of reach
    assert level_weight(100, 10, 5, 5, 0.05) == 0.0
    assert level_weight(100, 1, 5, 5, 0.05) > 0
    with pytest.raises(UsageError):
        level_weight(100, 1, 5, 5, 1.5)


def test_few_clicks_shrink_to_similar_categories_many_keep_their_own() -> None:
    homo = {c: (20_000, 2_000, 20) for c in "abcdefgh"}        # every category at 1%
    few = estimate_levels(_table({**homo, "t": (500, 50, 5)}), _schema(), ["t"])["t"]
    assert abs(few.rate - 0.01) < abs(few.observed - 0.01) / 2  # pulled toward 1%
    assert few.low < few.rate < few.high
    spread = {c: (20_000, 2_000, y) for c, y in zip("abcdefgh", (5, 10, 20, 40, 60, 80, 100,
                                                                 150), strict=True)}
    many = estimate_levels(_table({**spread, "t": (50_000, 10_000, 500)}), _schema(),
                           ["t"])["t"]
    assert many.rate == pytest.approx(0.05, rel=0.05)             # its own 5%


def test_a_denser_signal_that_predicts_the_rate_is_used() -> None:
    cvr = dict(zip("abcdefgh", (0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04),
                   strict=True))
    spec = {c: (20_000, 2_000, int(2_000 * r)) for c, r in cvr.items()}
    aux = {c: r / 2 for c, r in cvr.items()} | {"t": 0.02}   # t looks like a 4% category
    train = _table({**spec, "t": (1_000, 100, 2)}, aux)
    est = estimate_levels(train, _schema(aux=True), ["t"])["t"]
    assert "aux:aux" in est.signals
    assert est.prior_rate == pytest.approx(0.04, rel=0.15)
    plain = estimate_levels(train, _schema(aux=True), ["t"], use_aux=False)["t"]
    assert "aux:aux" not in plain.signals and plain.prior_rate < 0.03


def test_a_target_without_clicks_is_named() -> None:
    train = _table({"a": (1000, 100, 2), "b": (1000, 100, 1), "t": (100, 0, 0)})
    with pytest.raises(DataError, match="'t'"):
        estimate_levels(train, _schema(), ["t", "a"])
    with pytest.raises(DataError, match="'zz'"):
        estimate_levels(train, _schema(), ["zz"])


def test_parse_level() -> None:
    assert parse_level("auto") == "auto" and parse_level("none") == "none"
    assert parse_level("0.03") == 0.03
    assert parse_level("ski trip=0.04, theme park=0.02") == {"ski trip": 0.04,
                                                             "theme park": 0.02}
    for bad in ("x", "2", "a=1.5"):
        with pytest.raises(UsageError):
            parse_level(bad)

"""Every built-in generator, three ways: from the registry, directly, and after save/load."""

from __future__ import annotations

import pandas as pd
import pytest

from samplegen.catalog import consistency_problems
from samplegen.generators import Generator, generator_class, get_generator
from samplegen.generators.validation import normalize, row_hashes

FAST = {"epochs": 1, "batch_size_train": 100}
GENERATORS = {
    "oversample": {},
    "smote": {},
    "sdv-gaussian-copula": {},
    "sdv-ctgan": FAST,
    "sdv-tvae": FAST,
    "sdv-copulagan": FAST,
}
# neural SDV models take ~10 s per test on a loaded 2-core machine: marked slow (CI runs them)
NAMES = [pytest.param(n, marks=pytest.mark.slow) if "epochs" in p else n
         for n, p in GENERATORS.items()]
N = 40


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Neural SDV models on a shared 2-core machine: one intra-op thread is faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def train():
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split

    src = load_travel_sim(n_impressions=20_000, seed=0)
    split = make_split(src)
    return src.table.iloc[split.train].reset_index(drop=True), src.schema


@pytest.fixture(scope="module")
def fitted(train):
    table, schema = train
    cache: dict[str, Generator] = {}

    def get(name: str) -> Generator:
        if name not in cache:
            cache[name] = get_generator(name, **GENERATORS[name]).fit(table, schema, seed=0)
        return cache[name]

    return get


def _cond(schema):
    return {schema.category: "hotel", schema.click: 1, schema.conversion: 1}


def _check(gen: Generator, out: pd.DataFrame, train) -> None:
    table, schema = train
    cond = _cond(schema)
    assert len(out) == N
    assert list(out.columns) == schema.names
    assert (out[schema.click] == 1).all() and (out[schema.conversion] == 1).all()
    assert (out[schema.category] == "hotel").all()
    schema.validate(out, check_domains=True)
    assert consistency_problems(out, gen.validator.catalogs) == []
    rep = gen.last_report
    assert rep.produced == N and rep.drawn == N + sum(rep.rejected.values()) + rep.surplus
    if not gen.allow_duplicates:
        h = row_hashes(normalize(out, schema), schema)
        assert len(set(h.tolist())) == N
        real = set(row_hashes(normalize(table, schema), schema).tolist())
        assert not set(h.tolist()) & real
    assert cond  # conditions held (checked above)


@pytest.mark.parametrize("name", NAMES)
def test_from_registry(name, fitted, train) -> None:
    gen = fitted(name)
    assert gen.name == name and type(gen) is generator_class(name)
    out = gen.sample(N, _cond(train[1]), seed=1)
    _check(gen, out, train)
    assert gen.describe()["fit_note"]


@pytest.mark.parametrize("name", NAMES)
def test_direct_and_seeds(name, train) -> None:
    table, schema = train
    gen = generator_class(name)(**GENERATORS[name]).fit(table, schema, seed=0)
    a = gen.sample(N, _cond(schema), seed=1)
    _check(gen, a, train)
    b = gen.sample(N, _cond(schema), seed=1)
    c = gen.sample(N, _cond(schema), seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("name", NAMES)
def test_after_save_load(name, fitted, train, tmp_path) -> None:
    gen = fitted(name)
    gen.save(tmp_path / name)
    loaded = Generator.load(tmp_path / name)
    assert type(loaded) is type(gen) and loaded.params == gen.params
    out = loaded.sample(N, _cond(train[1]), seed=3)
    _check(loaded, out, train)
    pd.testing.assert_frame_equal(out, gen.sample(N, _cond(train[1]), seed=3))


def test_sdv_fits_on_clicked_rows_and_forces_unsampleable_categories(fitted, train) -> None:
    table, schema = train
    gen = fitted("sdv-gaussian-copula")
    clicked = int((table[schema.click] == 1).sum())
    assert gen.fit_on_slice and gen.fit_rows == len(table)
    assert f"{clicked} clicked training rows" in gen.fit_note
    # theme park has one clicked training row: conditional sampling rarely hits it
    out = gen.sample(10, {schema.category: "theme park", schema.click: 1,
                          schema.conversion: 1}, seed=0)
    assert len(out) == 10 and (out[schema.category] == "theme park").all()
    assert consistency_problems(out, gen.validator.catalogs) == []


def test_oversample_relaxes_labels_and_says_so(fitted, train) -> None:
    table, schema = train
    gen = fitted("oversample")
    cond = {schema.category: "cruise", schema.click: 1, schema.conversion: 1}
    assert not ((table[schema.category] == "cruise") & (table[schema.conversion] == 1)).any()
    out = gen.sample(5, cond, seed=0)
    assert (out[schema.conversion] == 1).all()
    note = gen.sample_notes[Generator.condition_key(cond)]
    assert "without ['conversion']" in note


def test_unknown_epochs_param_is_refused() -> None:
    from samplegen.errors import GeneratorError

    with pytest.raises(GeneratorError, match="no parameter"):
        get_generator("sdv-gaussian-copula", epochs=3)

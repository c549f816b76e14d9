"""The generate pipeline: exact counts, manifest, split provenance, seeds, resume, bad inputs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from samplegen.datasets.base import Source
from samplegen.errors import RunDirError, UsageError
from samplegen.pipeline import generate, parse_target, plan_chunks, resolve_targets
from samplegen.schema import Column, ColumnType, Role, Schema

TWO = [{"item_category": "hotel"}, {"item_category": "flight"}]
# hotel and flight have no converting training rows at 20k impressions: oversample (which copies
# real rows, so cannot make a conversion up) is asked for clicked, non-converting rows
CLICKED = [{**t, "conversion": 0} for t in TWO]


@pytest.fixture(scope="module")
def src() -> Source:
    from samplegen.datasets.travel_sim import load_travel_sim

    return load_travel_sim(n_impressions=20_000, seed=0)


def _listing(path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(path.rglob("*"))}


def test_generate_exact_rows_manifest_and_provenance(src, tmp_path) -> None:
    from samplegen.split import make_split

    res = generate(src, "smote", out=tmp_path / "run", n=61, targets=TWO, chunk_rows=20, seed=3)
    df = res.to_pandas()
    s = src.schema
    assert len(df) == 61 and list(df.columns) == s.names
    assert (df[s.click] == 1).all() and (df[s.conversion] == 1).all()
    assert df[s.category].value_counts().to_dict() == {"hotel": 31, "flight": 30}
    s.validate(df, check_domains=True)
    assert not df.duplicated().any()
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    c = m["counts"]
    assert m["status"] == "complete" and c["written"] == c["requested"] == 61
    assert c["drawn"] == c["written"] + c["rejected_total"] + c["surplus"] and c["add_up"]
    assert m["chunks"]["planned"] == 4 and m["plan"]["chunk_rows"] == 20
    split = make_split(src)
    prov = m["provenance"]
    assert prov["train_fingerprint"] == split.train_fingerprint(src)
    assert prov["n_fit_rows"] == len(split.train) and prov["rule"] == split.rule
    assert (tmp_path / "run" / "fit_rows.npz").is_file()
    assert not (tmp_path / "run" / "model").exists()  # refit from the seed on resume
    assert "model" not in m["files"]
    assert m["generator"]["name"] == "smote" and m["generator"]["fit_note"]
    assert m["versions"]["pandas"] == pd.__version__
    assert {"fit_s", "generate_s", "finalize_s"} <= set(m["timings"])
    assert Schema.load(tmp_path / "run" / "schema.json").names == s.names
    for line in (tmp_path / "run" / "rejects.jsonl").read_text().splitlines():
        assert json.loads(line)["reason"] in c["rejected"]


def test_run_dir_loads_as_hf_dataset(src, tmp_path) -> None:
    import datasets

    res = generate(src, "oversample", out=tmp_path / "r", n=10, targets=CLICKED[:1])
    ds = res.to_dataset()
    assert isinstance(ds, datasets.Dataset) and ds.num_rows == 10
    loaded = datasets.load_dataset("parquet", data_files=str(res.synthetic_path), split="train",
                                   cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == 10 and loaded.column_names == src.schema.names


def test_same_seed_same_rows_other_seed_differs(src, tmp_path) -> None:
    kw = dict(n=30, targets=CLICKED, chunk_rows=10)
    a = generate(src, "oversample", out=tmp_path / "a", seed=1, **kw).to_pandas()
    b = generate(src, "oversample", out=tmp_path / "b", seed=1, **kw).to_pandas()
    c = generate(src, "oversample", out=tmp_path / "c", seed=2, **kw).to_pandas()
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_resume_rebuilds_lost_chunks_identically(src, tmp_path) -> None:
    kw = dict(n=60, targets=TWO, chunk_rows=15, seed=5)
    full = generate(src, "smote", out=tmp_path / "full", **kw).to_pandas()
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "full", part)
    for name in ("part-00001.parquet", "part-00003.parquet"):
        (part / "chunks" / name).unlink()
    (part / "synthetic.parquet").unlink()
    m = json.loads((part / "manifest.json").read_text())
    (part / "manifest.json").write_text(json.dumps({**m, "status": "running"}))
    again = generate(src, "smote", out=part, resume=True, **kw)
    pd.testing.assert_frame_equal(again.to_pandas(), full)
    assert again.manifest["counts"]["written"] == 60


def test_keep_model_saves_the_fitted_generator_and_resume_loads_it(src, tmp_path) -> None:
    from samplegen.generators.base import Generator

    kw = dict(n=12, targets=CLICKED, chunk_rows=6, seed=2)
    res = generate(src, "oversample", out=tmp_path / "k", keep_model=True, **kw)
    assert res.manifest["files"]["model"] == "model/"
    assert Generator.load(tmp_path / "k" / "model").name == "oversample"
    plain = generate(src, "oversample", out=tmp_path / "p", **kw)
    pd.testing.assert_frame_equal(plain.to_pandas(), res.to_pandas())


def test_completed_run_resumes_as_a_no_op(src, tmp_path) -> None:
    kw = dict(n=10, targets=CLICKED, chunk_rows=5)
    generate(src, "oversample", out=tmp_path / "r", **kw)
    before = _listing(tmp_path / "r")
    res = generate(src, "oversample", out=tmp_path / "r", resume=True, **kw)
    assert res.manifest["status"] == "complete" and _listing(tmp_path / "r") == before


def test_default_targets_are_sparse_training_categories(src) -> None:
    from samplegen.split import make_split, sparse_categories

    train = src.table.iloc[make_split(src).train]
    targets, skipped = resolve_targets(src, train, None, n=None, per_category=7)
    want = [c for c in sparse_categories(train, src.schema).targets
            if c in set(train["item_category"])]
    assert [t.conditions["item_category"] for t in targets] == want
    assert all(t.n == 7 and t.conditions["click"] == 1 and t.conditions["conversion"] == 1
               for t in targets)
    assert skipped == []


def test_target_counts_split_and_label_overrides(src) -> None:
    train = src.table
    targets, _ = resolve_targets(src, train, [{"item_category": "hotel", "conversion": "0"},
                                              {"item_category": "flight"}], n=5, per_category=None)
    assert [(t.conditions, t.n) for t in targets] == [
        ({"click": 1, "conversion": 0, "item_category": "hotel"}, 3),
        ({"click": 1, "conversion": 1, "item_category": "flight"}, 2)]
    assert [(c.index, c.target, c.n) for c in plan_chunks(targets, 2)] == \
        [(0, 0, 2), (1, 0, 1), (2, 1, 2)]
    assert parse_target("a=1, b = x") == {"a": "1", "b": "x"}
    with pytest.raises(UsageError, match="COL=VALUE"):
        parse_target("cruise")


def _tiny_source() -> Source:
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"cat": rng.choice(["a", "b"], n), "x": rng.normal(size=n).round(2),
                       "click": (rng.random(n) < 0.5).astype(int)})
    df["conversion"] = ((rng.random(n) < 0.5) & (df.click == 1)).astype(int)
    lab = dict(min=0.0, max=1.0, decimals=0, integer=True)
    schema = Schema([Column("cat", Role.CATEGORY, ColumnType.CATEGORICAL, values=["a", "b", "z"]),
                     Column("x", Role.CONTEXT, ColumnType.NUMERICAL, min=-5.0, max=5.0,
                            decimals=2),
                     Column("click", Role.CLICK, ColumnType.NUMERICAL, **lab),
                     Column("conversion", Role.CONVERSION, ColumnType.NUMERICAL, **lab)])
    return Source("tiny", df, schema)


@pytest.mark.parametrize("kw, match", [
    (dict(generator="nope"), "unknown generator"),
    (dict(targets=[{"cat": "mars"}]), "not in the column's domain"),
    (dict(targets=[{"cat": "z"}]), "no real rows at all"),
    (dict(n=0), "positive integer"),
    (dict(n=-3), "positive integer"),
    (dict(n=5, per_category=5), "not both"),
    (dict(epochs=3), "does not apply"),
    (dict(targets=[{"nope": "a"}]), "not in the schema"),
])
def test_bad_inputs_raise_usage_errors_and_write_nothing(tmp_path, kw, match) -> None:
    args = dict(generator="oversample", n=10, targets=[{"cat": "a"}]) | kw
    gen = args.pop("generator")
    with pytest.raises(UsageError, match=match):
        generate(_tiny_source(), gen, out=tmp_path / "out", **args)
    assert not (tmp_path / "out").exists()


def test_out_dir_with_another_run_is_refused_untouched(tmp_path) -> None:
    src = _tiny_source()
    generate(src, "oversample", out=tmp_path / "r", n=10, targets=[{"cat": "a"}])
    before = _listing(tmp_path / "r")
    with pytest.raises(RunDirError, match="holds another run"):
        generate(src, "oversample", out=tmp_path / "r", n=10, targets=[{"cat": "a"}], seed=9,
                 resume=True)
    with pytest.raises(RunDirError, match="already holds this run"):
        generate(src, "oversample", out=tmp_path / "r", n=10, targets=[{"cat": "a"}])
    assert _listing(tmp_path / "r") == before


def test_tiny_source_without_entities_generates_valid_rows(tmp_path) -> None:
    src = _tiny_source()
    res = generate(src, "smote", out=tmp_path / "r", n=25, targets=[{"cat": "b"}], seed=1)
    df = res.to_pandas()
    assert len(df) == 25 and (df["cat"] == "b").all() and (df["conversion"] == 1).all()
    assert not df.duplicated().any()


class _TakeFirst:
    """A stand-in aligner: keeps the first n rows of the pool."""

    fitted_on: int = 0

    def fit(self, real, schema, *, seed=0):
        _TakeFirst.fitted_on = len(real)
        return self

    def select(self, pool, n, *, seed=0):
        return pool.iloc[:n], {"method": "take-first", "pool_size": len(pool), "selected": n}


def test_align_hook_selects_from_a_doubled_pool(src, tmp_path, monkeypatch) -> None:
    import samplegen.align
    from samplegen.split import make_split

    monkeypatch.setattr(samplegen.align, "get_aligner", lambda name: _TakeFirst())
    res = generate(src, "smote", out=tmp_path / "r", n=20, targets=TWO[:1], chunk_rows=10,
                   align="take-first")
    m = res.manifest
    assert len(res.to_pandas()) == 20 and _TakeFirst.fitted_on == len(make_split(src).train)
    assert [r["pool_size"] for r in m["align"]["reports"]] == [20, 20]
    assert m["counts"]["rejected"]["not_selected_by_aligner"] == 20 and m["counts"]["add_up"]


def test_runs_on_one_split_reuse_validator_and_aligner_without_changing_rows(src, tmp_path) -> None:
    from samplegen import pipeline_run

    pipeline_run._REUSE.clear()
    a = generate(src, "smote", out=tmp_path / "a", n=20, targets=TWO, seed=1, align="cllm")
    first = dict(pipeline_run._REUSE)
    assert set(first) == {"validator", "aligner cllm"}
    b = generate(src, "oversample", out=tmp_path / "b", n=20, targets=CLICKED, seed=1, align="cllm")
    assert all(pipeline_run._REUSE[k][1] is first[k][1] for k in first)  # built once
    pipeline_run._REUSE.clear()  # a fresh process gives the same rows
    b2 = generate(src, "oversample", out=tmp_path / "b2", n=20, targets=CLICKED, seed=1, align="cllm")
    pd.testing.assert_frame_equal(b.to_pandas(), b2.to_pandas())
    assert pipeline_run._REUSE["validator"][1] is not first["validator"][1]
    small = Source("small", src.table.iloc[:8000].reset_index(drop=True), src.schema)
    generate(small, "oversample", out=tmp_path / "c", n=10, targets=CLICKED, seed=1)
    assert pipeline_run._REUSE["validator"][0] != first["validator"][0]  # other rows: rebuilt
    assert len(a.to_pandas()) == 20

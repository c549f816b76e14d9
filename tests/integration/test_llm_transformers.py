"""transformers backend with the real SmolLM2 (bundled GGUF, dequantised once), and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from samplegen.cli import main
from samplegen.codec import RowCodec
from samplegen.llm.base import ChatPrompt, SamplingParams
from samplegen.llm.constrained import build_row_constraint
from tests.unit.test_llm_constrained import FORCED, ORDER, SCHEMA, TABLE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    from samplegen.llm.backends.transformers_backend import TransformersBackend

    return TransformersBackend("smollm2", batch_size=8, threads=1)


def test_smollm2_constrained_rows_parse_and_fit(smollm2) -> None:
    from samplegen.catalog import build_catalogs

    codec = RowCodec(SCHEMA, columns=ORDER)
    rc = build_row_constraint(codec, ORDER, forced=FORCED,
                              catalogs=build_catalogs(SCHEMA.coerce(TABLE), SCHEMA))
    prompt = ChatPrompt("Write one row of a travel booking log as 'name is value, ...'.", "Row: ")
    texts = smollm2.generate([prompt] * 4, SamplingParams(temperature=1.0, seed=0), rc)
    rows = [codec.decode(t) for t in texts]
    assert all(r.ok for r in rows), [r.reason for r in rows]
    assert all(rc.allows(t) for t in texts)
    assert {r.row["item_category"] for r in rows} == {"cruise"}
    assert smollm2.stats["forward_passes"] < 4 * len(ORDER)  # forced spans cost no decode step


def test_fewshot_on_travel_sim_with_smollm2(smollm2) -> None:
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.generators.registry import get_generator
    from samplegen.split import make_split

    src = load_travel_sim(n_impressions=100_000)
    train, _, _ = make_split(src).frames(src)
    g = get_generator("llm-fewshot", per_cluster=1, cot_tokens=8, rows_per_prompt=4)
    g.fit(train, src.schema, seed=0)
    g._backend_obj = smollm2
    cat = src.schema.category
    out = g.sample(4, {cat: "cruise", src.schema.click: 1, src.schema.conversion: 1}, seed=0)
    assert len(out) == 4 and g.last_report.to_dict()["rejected_total"] == 0
    assert (out[cat] == "cruise").all()
    src.schema.validate(out, check_domains=True)
    assert isinstance(out, pd.DataFrame)


@pytest.mark.parametrize("args,needle", [
    (["--model", "smollm9"], "unknown model 'smollm9'"),
    (["--model", "/nonexistent/model.gguf"], "does not exist"),
    (["--backend", "openai", "--model", "x", "--param", "base_url=http://127.0.0.1:9",
      "--param", "timeout=3"], "unreachable"),
    (["--template", "/nonexistent/t.j2"], "does not exist"),
    (["--backend", "openai", "--model", "x", "--base-url", "http://127.0.0.1:9", "--param",
      "timeout=3"], "unreachable"),
])
def test_cli_bad_llm_input_exits_2(tmp_path, capsys, args, needle) -> None:
    code = main(["generate", "travel-sim", "--n-impressions", "50000", "--generator",
                 "llm-fewshot", "--target", "item_category=cruise", "--n", "2", "--out",
                 str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in " ".join(err.split())

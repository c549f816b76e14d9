"""Prompt templates: loading, rendering values as data, sandbox, syntax errors, hashes."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from prompts import PromptTemplate, describe_columns, list_templates, load_template
from samplegen.codec import RowCodec
from samplegen.errors import UsageError
from samplegen.schema import Column, ColumnType, Role, Schema

SCHEMA = Schema([
    Column("user_age", Role.USER, ColumnType.CATEGORICAL, values=["18-24", "25-34"]),
    Column("item_category", Role.CATEGORY, ColumnType.CATEGORICAL,
           values=["cruise", "ski, trip", "{{ 7*7 }}"]),
    Column("price", Role.ITEM, ColumnType.NUMERICAL, min=10.0, max=5000.0, decimals=2),
    Column("hour", Role.CONTEXT, ColumnType.NUMERICAL, min=0.0, max=23.0, decimals=0,
           integer=True, nullable=True),
    Column("click", Role.CLICK, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0, integer=True),
    Column("purchase", Role.CONVERSION, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0,
           integer=True),
])
CODEC = RowCodec(SCHEMA)
NASTY_ROW = {"user_age": "18-24", "item_category": "{{ 7*7 }}", "price": 99.5, "hour": 3.0,
             "click": 1, "purchase": 1}


def _ctx(**over: object) -> dict:
    ctx = {
        "columns": describe_columns(SCHEMA.columns, CODEC.format_value),
        "category_column": "item_category",
        "target_category": CODEC.format_value("item_category", "ski, trip"),
        "click_column": "click",
        "conversion_column": "purchase",
        "n_rows": 5,
        "exemplars": [CODEC.encode(NASTY_ROW), "{% for x in range(3) %}loop{% endfor %}"],
    }
    return ctx | over


def test_list_templates() -> None:
    assert list_templates() == ["fewshot_cot", "fewshot_plain", "finetune_row", "judge_yesno"]


def test_describe_columns_exact() -> None:
    assert describe_columns(SCHEMA.columns, CODEC.format_value, max_values=2) == [
        {"name": "user_age", "role": "user", "type": "categorical",
         "domain": "one of 18-24, 25-34"},
        {"name": "item_category", "role": "category", "type": "categorical",
         "domain": 'one of cruise, "ski, trip" (and 1 more)'},
        {"name": "price", "role": "item", "type": "numerical",
         "domain": "a number from 10.00 to 5000.00 with at most 2 decimals"},
        {"name": "hour", "role": "context", "type": "numerical",
         "domain": "an integer from 0 to 23; NaN when missing"},
        {"name": "click", "role": "click", "type": "numerical", "domain": "0 or 1"},
        {"name": "purchase", "role": "conversion", "type": "numerical", "domain": "0 or 1"},
    ]


@pytest.mark.parametrize("name", ["fewshot_cot", "fewshot_plain"])
def test_fewshot_render_values_stay_literal(name: str) -> None:
    text = load_template(name).render(**_ctx())
    exemplar = ("user_age is 18-24, item_category is {{ 7*7 }}, price is 99.50, hour is 3, "
                "click is 1, purchase is 1")
    assert exemplar in text.splitlines()
    assert "{% for x in range(3) %}loop{% endfor %}" in text.splitlines()
    assert "49" not in text and "looploop" not in text
    assert "- item_category [category, categorical]: one of cruise, \"ski, trip\", {{ 7*7 }}" in text
    assert 'item_category is "ski, trip", click is 1, purchase is 1' in text
    assert "exactly 5 new rows" in text
    assert ("Row format: name is value, name is value, ... with every column exactly once") in text
    assert ("Think step by step" in text) == (name == "fewshot_cot")
    assert "About the data" not in text
    assert "About the data: Travel funnel." in load_template(name).render(
        **_ctx(dataset_description="Travel funnel."))


def test_cot_names_columns_by_role() -> None:
    text = load_template("fewshot_cot").render(**_ctx())
    assert 'Which users buy "ski, trip" items? Consider the user columns (user_age)' in text
    assert "Which item attributes (item_category, price) and contexts (hour)" in text


def test_finetune_row_template() -> None:
    t = load_template("finetune_row")
    row = CODEC.encode(NASTY_ROW)
    assert t.render(row=row) == row
    assert t.render(row=row, prefix="<s>") == "<s>" + row


def test_missing_variable_is_a_usage_error() -> None:
    ctx = _ctx()
    del ctx["n_rows"]
    with pytest.raises(UsageError, match="'n_rows' is undefined.*pass every variable"):
        load_template("fewshot_cot").render(**ctx)


def test_sandbox_blocks_unsafe_template(tmp_path: Path) -> None:
    bad = tmp_path / "evil.j2"
    bad.write_text("{{ row.__class__.__mro__ }}")
    with pytest.raises(UsageError, match="evil"):
        load_template(bad).render(row="x")
    bad.write_text("{{ row.format.__globals__ }}")
    with pytest.raises(UsageError, match="evil"):
        load_template(bad).render(row="x")


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.j2"
    bad.write_text("line one\nline two\n{% for row in exemplars %}\n{{ row }\n")
    with pytest.raises(UsageError) as e:
        load_template(bad)
    msg = str(e.value)
    assert str(bad) in msg and "syntax error at line 4" in msg


def test_unknown_template_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown prompt template 'nope'.*fewshot_cot"):
        load_template("nope")
    with pytest.raises(UsageError, match="does not exist"):
        load_template(tmp_path / "absent.j2")
    latin = tmp_path / "latin.j2"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_template(latin)


def test_hash_is_of_source_bytes_and_stable(tmp_path: Path) -> None:
    a = load_template("fewshot_cot")
    b = load_template("fewshot_cot.j2")
    data = (resources.files("prompts") / "templates" / "fewshot_cot.j2").read_bytes()
    assert a.sha256 == b.sha256 == hashlib.sha256(data).hexdigest()
    assert isinstance(a, PromptTemplate) and a.name == "fewshot_cot" and a.path is None
    copy = tmp_path / "mine.j2"
    copy.write_bytes(data)
    c = load_template(copy)
    assert (c.name, c.path, c.sha256) == ("mine", str(copy), a.sha256)
    copy.write_bytes(data + b"\n")
    assert load_template(copy).sha256 != a.sha256
    assert load_template("finetune_row").sha256 != a.sha256
    tiny = tmp_path / "tiny.j2"
    tiny.write_text("{{ row }}")
    assert load_template(tiny).sha256 == (
        "683421697c4e81fc3f0a78840e46d8d15177fab3c362da0cb6f3ba106ef50234")


def test_variables_listed() -> None:
    assert load_template("fewshot_plain").variables == {
        "columns", "category_column", "target_category", "click_column", "conversion_column",
        "n_rows", "exemplars", "dataset_description"}

"""Every real CVR fixture in ../shared/data loads with its true label counts (hand-checked)."""

from __future__ import annotations

import pytest

from samplegen.errors import SchemaError
from samplegen.schema import Role
from samplegen.sources import iter_source_chunks, load_source

# file -> (format, rows, clicks, conversions, conversion column); counted with awk on the files
FIXTURES = {
    "ali-ccp/ali_ccp_train_sample.csv": ("ali-ccp", 100, 7, 1, "purchase"),
    "ali-ccp/ali_ccp_val_sample.csv": ("ali-ccp", 50, 3, 1, "purchase"),
    "ali-ccp/ali_ccp_test_sample.csv": ("ali-ccp", 50, 2, 1, "purchase"),
    "aliexpress/aliexpress_train_sample.csv": ("aliexpress", 100, 60, 2, "conversion"),
    "aliexpress/aliexpress_test_sample.csv": ("aliexpress", 20, 10, 2, "conversion"),
    "paddlerec-ali-ccp/esmm_train_small.txt": ("esmm-txt", 10, 2, 1, "ctcvr"),
    "paddlerec-ali-ccp/esmm_test_small.txt": ("esmm-txt", 10, 1, 0, "ctcvr"),
}
# AITM: (rows, clicks, purchases, purchases without click) -> by policy
AITM = {
    "paddlerec-ali-ccp/aitm_train.csv": {"raw": (48, 3, 3, 2), "drop": (46, 3, 1),
                                         "fix-click": (48, 5, 3), "first_bad_row": 7},
    "paddlerec-ali-ccp/aitm_test_noheader.csv": {"raw": (50, 3, 3, 3), "drop": (47, 3, 0),
                                                 "fix-click": (50, 6, 3), "first_bad_row": 6},
}


@pytest.mark.parametrize("rel", sorted(FIXTURES))
def test_fixture_loads_with_true_label_counts(shared_data, rel):
    fmt, rows, clicks, convs, conv_col = FIXTURES[rel]
    src = load_source(shared_data / rel)
    assert src.meta["format"] == fmt
    assert len(src.table) == rows
    assert src.schema.click == "click" and src.schema.conversion == conv_col
    assert int(src.table["click"].sum()) == clicks
    assert int(src.table[conv_col].sum()) == convs
    assert set(src.table["click"].unique()) <= {0, 1}
    assert src.schema.category is not None
    # labels, ids and the category's fellow features are never mixed up
    assert "click" not in src.schema.features and conv_col not in src.schema.features


def test_alicpp_default_roles_follow_field_meanings(shared_data):
    sch = load_source(shared_data / "ali-ccp/ali_ccp_train_sample.csv").schema
    assert sch["101"].role == Role.USER and sch["101"].key
    assert sch["205"].role == Role.ITEM and sch["205"].key
    assert sch.category == "206"
    assert {c: sch[c].role for c in ("121", "129", "109_14", "D109_14")} == dict.fromkeys(
        ("121", "129", "109_14", "D109_14"), Role.USER)
    assert {sch[c].role for c in ("207", "210", "216")} == {Role.ITEM}
    assert {sch[c].role for c in ("301", "508", "853", "D508")} == {Role.CONTEXT}
    assert sch["D508"].type.value == "numerical" and sch["207"].type.value == "categorical"
    user = sch.entity("user")
    assert user is not None and user.key == "101" and "129" in user.attributes


def test_schema_file_moves_a_field_to_the_item(shared_data, tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("columns:\n  '129': {role: item}\n  '207': {role: category}\n"
                 "  '206': {role: item}\n")
    sch = load_source(shared_data / "ali-ccp/ali_ccp_train_sample.csv", schema=f).schema
    assert sch["129"].role == Role.ITEM and sch.category == "207"


def test_esmm_txt_fields_and_multi_values(shared_data):
    t = load_source(shared_data / "paddlerec-ali-ccp/esmm_train_small.txt").table
    # first line: 1,1,1,210:1,210:2,210:3,216:4,301:5,205:6,206:7,207:8,508:9,121:10,...,101:12
    row = t.iloc[0]
    assert (row["id"], row["click"], row["ctcvr"]) == ("1", 1, 1)
    assert row["210"] == "1|2|3" and row["216"] == "4" and row["101"] == "12"
    first = load_source(shared_data / "paddlerec-ali-ccp/esmm_train_small.txt",
                        multi_value="first").table
    assert first.iloc[0]["210"] == "1"


@pytest.mark.parametrize("rel", sorted(AITM))
def test_aitm_purchase_without_click_is_reported(shared_data, rel):
    rows, clicks, purchases, bad = AITM[rel]["raw"]
    with pytest.raises(SchemaError) as e:
        load_source(shared_data / rel)
    msg = str(e.value)
    assert "'purchase'" in msg and f"{bad} row(s)" in msg
    assert f"row {AITM[rel]['first_bad_row']}" in msg
    assert "--invalid-conversions drop" in msg and "--invalid-conversions fix-click" in msg


@pytest.mark.parametrize("rel", sorted(AITM))
@pytest.mark.parametrize("policy", ["drop", "fix-click"])
def test_aitm_invalid_conversion_policies(shared_data, rel, policy):
    src = load_source(shared_data / rel, invalid_conversions=policy)
    rows, clicks, purchases = AITM[rel][policy]
    assert (len(src.table), int(src.table.click.sum()), int(src.table.purchase.sum())) == (
        rows, clicks, purchases)
    assert not ((src.table.purchase == 1) & (src.table.click == 0)).any()
    assert src.meta["invalid_conversions"]["rows"] == AITM[rel]["raw"][3]
    assert src.meta["format"] == "aitm"


def test_aitm_headerless_gets_the_aitm_names(shared_data):
    with_header = load_source(shared_data / "paddlerec-ali-ccp/aitm_train.csv",
                              invalid_conversions="drop")
    no_header = load_source(shared_data / "paddlerec-ali-ccp/aitm_test_noheader.csv",
                            invalid_conversions="drop")
    assert list(no_header.table.columns) == list(with_header.table.columns)
    assert no_header.table.iloc[0]["101"] == "180467"  # first data line kept as data


def test_iter_source_chunks_streams_every_row(shared_data):
    chunks = list(iter_source_chunks(shared_data / "ali-ccp/ali_ccp_train_sample.csv", 30))
    assert [len(c) for c in chunks] == [30, 30, 30, 10]
    assert chunks[0]["206"].dtype == object  # codes stay strings, as in load_source
    nh = list(iter_source_chunks(shared_data / "paddlerec-ali-ccp/aitm_test_noheader.csv", 20))
    assert sum(map(len, nh)) == 50 and list(nh[0].columns)[:3] == ["click", "purchase", "101"]
    esmm = list(iter_source_chunks(shared_data / "paddlerec-ali-ccp/esmm_train_small.txt", 4))
    assert [len(c) for c in esmm] == [4, 4, 2]

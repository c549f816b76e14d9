"""The public API is small and locked: changing it is a deliberate act."""

import samplegen

EXPECTED = {
    "Column",
    "ColumnType",
    "Role",
    "SamplegenError",
    "Schema",
    "SchemaError",
    "Source",
    "UsageError",
    "__version__",
    "generate",
    "get_generator",
    "infer_schema",
    "list_generators",
    "load_source",
    "make_split",
    "sparse_categories",
}


def test_all_is_locked() -> None:
    assert set(samplegen.__all__) == EXPECTED


def test_every_name_in_all_exists() -> None:
    for name in samplegen.__all__:
        assert getattr(samplegen, name) is not None

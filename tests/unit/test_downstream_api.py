"""Lock the public API of downstream (names users import)."""

from __future__ import annotations

import downstream


def test_public_names_are_locked() -> None:
    assert sorted(downstream.__all__) == sorted([
        "ESMM", "ESMMConfig", "EncodedTable", "ExperimentResult", "FeatureEncoder", "FittedESMM",
        "History", "ModelOptions", "ParquetBatches", "TrainConfig", "Trainer", "auc",
        "calibration", "check_synthetic_provenance", "choose_rank_alpha", "correct_probability", "evaluate",
        "fit_esmm", "gauc", "load_esmm", "load_synthetic", "logloss", "merge_labels",
        "prepare_global_rows", "read_run_dir", "read_table", "run_experiment",
        "subsample_nonclicks",
    ])
    for name in downstream.__all__:
        assert getattr(downstream, name) is not None


def test_downstream_never_imports_generation() -> None:
    import ast
    from pathlib import Path

    allowed = ("samplegen.schema", "samplegen.errors", "samplegen.datasets", "samplegen.split",
               "samplegen.sources", "samplegen.integrity", "samplegen.progress",
               "samplegen.level")
    for path in Path(downstream.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("samplegen"):
                assert node.module.startswith(allowed), (path.name, node.module)

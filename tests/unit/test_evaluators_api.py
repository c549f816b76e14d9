"""Lock the public API of `evaluators` (httpx's pattern: a curated __all__)."""

from __future__ import annotations

import evaluators
import evaluators.metrics


def test_public_names_are_locked() -> None:
    assert sorted(evaluators.__all__) == sorted([
        "QualityReport", "ReportOptions", "Metric", "Goal", "Property", "PropertyResult",
        "ColumnShapes", "ColumnPairTrends", "Detection", "PrecisionRecall", "Privacy",
        "Utility", "Attribution", "DownstreamLift", "load_validate_metrics"])
    assert sorted(evaluators.metrics.__all__) == sorted([
        "Goal", "Metric", "KSComplement", "TVComplement", "CorrelationSimilarity",
        "ContingencySimilarity", "DetectionAUC", "KNNPrecision", "KNNRecall", "Density",
        "Coverage", "DCRShare", "ExactCopyRate", "NNDR", "TSTRAUC", "AugmentedAUC",
        "ShapRankCorrelation", "InteractionDistance"])
    for name in evaluators.__all__:
        assert getattr(evaluators, name) is not None


def test_every_metric_declares_goal_and_bounds() -> None:
    for name in evaluators.metrics.__all__:
        obj = getattr(evaluators.metrics, name)
        if isinstance(obj, type) and issubclass(obj, evaluators.Metric) \
                and obj is not evaluators.Metric:
            assert obj.goal in (evaluators.Goal.MAXIMIZE, evaluators.Goal.MINIMIZE), name
            assert obj.min_value < obj.max_value, name
            assert obj.name != "metric", name

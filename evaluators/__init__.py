"""Quality report for synthetic CVR data: Metric -> Property -> Report (SDMetrics' layering).

>>> report = QualityReport().generate(train, holdout, {"llm": synthetic}, schema)
>>> report.get_score(); report.save("out/")
"""

from evaluators.context import ReportOptions
from evaluators.metrics import Goal, Metric
from evaluators.properties import (
    Attribution,
    ColumnPairTrends,
    ColumnShapes,
    Detection,
    DownstreamLift,
    PrecisionRecall,
    Privacy,
    Property,
    PropertyResult,
    Utility,
    load_validate_metrics,
)
from evaluators.report import QualityReport

__all__ = [
    "QualityReport",
    "ReportOptions",
    "Metric",
    "Goal",
    "Property",
    "PropertyResult",
    "ColumnShapes",
    "ColumnPairTrends",
    "Detection",
    "PrecisionRecall",
    "Privacy",
    "Utility",
    "Attribution",
    "DownstreamLift",
    "load_validate_metrics",
]

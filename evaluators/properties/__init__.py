"""Properties: groups of metrics over columns, pairs or rows, each with a details table."""

from evaluators.properties.base import Property, PropertyResult
from evaluators.properties.detection import Detection, PrecisionRecall
from evaluators.properties.downstream import (
    DownstreamLift,
    downstream_table,
    load_validate_metrics,
)
from evaluators.properties.fidelity import ColumnPairTrends, ColumnShapes
from evaluators.properties.privacy import Privacy
from evaluators.properties.utility import Attribution, Utility

__all__ = [
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
    "downstream_table",
    "load_validate_metrics",
    "default_properties",
]


def default_properties() -> list[Property]:
    """The properties of the quality report, in display order."""
    return [ColumnShapes("all"), ColumnShapes("targets"), ColumnPairTrends("all"),
            ColumnPairTrends("targets"), Detection(), PrecisionRecall(), Privacy(), Utility(),
            Attribution()]

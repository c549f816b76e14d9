"""Metrics: pure functions of real and synthetic data with a goal and bounds."""

from evaluators.metrics.attribution import InteractionDistance, ShapRankCorrelation
from evaluators.metrics.base import Goal, Metric
from evaluators.metrics.detection import DetectionAUC
from evaluators.metrics.fidelity import (
    ContingencySimilarity,
    CorrelationSimilarity,
    KSComplement,
    TVComplement,
)
from evaluators.metrics.precision_recall import Coverage, Density, KNNPrecision, KNNRecall
from evaluators.metrics.privacy import NNDR, DCRShare, ExactCopyRate
from evaluators.metrics.utility import TSTRAUC, AugmentedAUC

__all__ = [
    "Goal",
    "Metric",
    "KSComplement",
    "TVComplement",
    "CorrelationSimilarity",
    "ContingencySimilarity",
    "DetectionAUC",
    "KNNPrecision",
    "KNNRecall",
    "Density",
    "Coverage",
    "DCRShare",
    "ExactCopyRate",
    "NNDR",
    "TSTRAUC",
    "AugmentedAUC",
    "ShapRankCorrelation",
    "InteractionDistance",
]

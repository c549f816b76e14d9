"""downstream: the training library (ESMM and variants, dataset plug-in, metrics,
the augmentation experiment). Stands alone: it uses samplegen's schema and data
loading, nothing of generation."""

from downstream.adapters import ParquetBatches, read_run_dir, read_table
from downstream.data import EncodedTable, FeatureEncoder, correct_probability, subsample_nonclicks
from downstream.experiment import ExperimentResult, load_synthetic, run_experiment
from downstream.fit import FittedESMM, ModelOptions, fit_esmm, load_esmm
from downstream.globalrows import merge_labels, prepare_global_rows
from downstream.metrics import auc, calibration, evaluate, gauc, logloss
from downstream.models import ESMM, ESMMConfig
from downstream.provenance import check_synthetic_provenance
from downstream.trainer import History, TrainConfig, Trainer
from downstream.tuning import choose_rank_alpha

__all__ = [
    "ESMM",
    "ESMMConfig",
    "EncodedTable",
    "ExperimentResult",
    "FeatureEncoder",
    "FittedESMM",
    "History",
    "ModelOptions",
    "ParquetBatches",
    "TrainConfig",
    "Trainer",
    "auc",
    "calibration",
    "check_synthetic_provenance",
    "choose_rank_alpha",
    "correct_probability",
    "evaluate",
    "fit_esmm",
    "gauc",
    "load_esmm",
    "load_synthetic",
    "logloss",
    "merge_labels",
    "prepare_global_rows",
    "read_run_dir",
    "read_table",
    "run_experiment",
    "subsample_nonclicks",
]

"""Data sources, splits and preprocessing (ARCHITECTURE.md, section Data).

    load_data(program) -> Datasets      # float32 inputs, targets, preprocessing fitted on train
    check_data(program) -> [SpecError]  # `specc check --data`: load every file, check it against the model
    sources.SOURCES                     # source name -> [(arg, type, default | REQUIRED)]

Modules: sources (table + dispatch), generated, csvfile, npzfile, idx (MNIST),
sklearn_sets, targets, splits, preprocess, load.
"""
from .load import check_data, load_data
from .preprocess import Preprocess
from .sources import SOURCES
from .types import Datasets, Split

__all__ = ["load_data", "check_data", "Split", "Preprocess", "Datasets", "SOURCES"]

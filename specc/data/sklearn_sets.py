"""Small data sets that scikit-learn ships inside its package (no download).

scikit-learn is optional: it is imported only when a spec asks for one of
these, and its absence is a clear error, not an ImportError.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError
from .types import Raw, shape_str

# name: (loader function in sklearn.datasets, classification?)
SKLEARN_SETS = {
    "digits": ("load_digits", True),
    "iris": ("load_iris", True),
    "wine": ("load_wine", True),
    "breast_cancer": ("load_breast_cancer", True),
    "diabetes": ("load_diabetes", False),
}


def load_sklearn(name: str, pos=None) -> Raw:
    fn, classification = SKLEARN_SETS[name]
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise DataError(f'sklearn("{name}") needs scikit-learn, which is not installed', pos,
                        hint="pip install scikit-learn  (or pip install 'specc[sklearn]')") from None
    bunch = getattr(skd, fn)()
    x = np.asarray(bunch.data)
    y = np.asarray(bunch.target)
    names = None
    if classification:
        y = y.astype(np.int64)
        tn = getattr(bunch, "target_names", None)
        if tn is not None:
            names = tuple(str(t) for t in tn)
    return Raw(x=x, y=y, file=f'sklearn("{name}")', labels=classification, label_names=names,
               features=f"samples of shape {shape_str(x.shape[1:])}")

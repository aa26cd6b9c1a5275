"""Every private scikit-learn name the package relies on, imported in one place.

When scikit-learn moves one of these, this is the only file to change.
"""

from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import _check_sample_weight, _get_feature_names

__all__ = [
    "Interval",
    "StrOptions",
    "_check_sample_weight",
    "_get_feature_names",
    "validate_params",
]

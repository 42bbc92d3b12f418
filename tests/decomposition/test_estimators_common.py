"""scikit-learn's common estimator checks for the decomposition estimators.

``SparseCoder`` holds a fixed dictionary, which fixes ``n_features``: a check
that feeds data with another number of features cannot pass with one
dictionary. scikit-learn itself runs those checks on its own ``SparseCoder``
with a dictionary of matching width (``PER_ESTIMATOR_CHECK_PARAMS``, a
private mechanism). Here the main instance (3 features) marks exactly these
checks as expected failures, with the width they need as reason, and
``test_sparse_coder_check_with_matching_dictionary`` runs each of them for
real on an instance whose dictionary has the width of the check's data.
"""

import numpy as np
import pytest
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.decomposition import DictionaryLearning, SparseCoder

# Number of features of the data each of these checks uses (scikit-learn 1.9).
_CHECK_N_FEATURES = {
    "check_estimators_dtypes": 5,
    "check_dtype_object": 10,
    "check_transformers_unfitted_stateless": 5,
    "check_fit_idempotent": 2,
    "check_estimators_overwrite_params": 2,
    "check_estimators_fit_returns_self": 2,
    "check_readonly_memmap_input": 2,
    "check_n_features_in_after_fitting": 4,
    "check_fit_check_is_fitted": 2,
    "check_n_features_in": 2,
    "check_positive_only_tag_during_fit": 4,
    "check_fit2d_1sample": 10,
    "check_fit2d_1feature": 1,
    "check_transformer_n_iter": 3,  # make_blobs with 3-D centers
}
_CODER_N_FEATURES = 3
# tol: the codes of all samples are solved jointly to a common tolerance, so
# a sample's code depends on its batch at the level of tol;
# check_methods_subset_invariance compares batches at atol=1e-7.
_CODER_PARAMS = dict(tol=1e-10)


def _coder(n_features):
    rng = np.random.RandomState(0)
    return SparseCoder(dictionary=rng.normal(size=(5, n_features)), **_CODER_PARAMS)


ESTIMATORS = [
    _coder(_CODER_N_FEATURES),
    SparseCoder(dictionary=np.random.RandomState(1).normal(size=(4, 3)), penalty="l0", alpha=0.1, tol=1e-10),
    DictionaryLearning(n_components=3, max_iter=20, random_state=0),
]


def _expected_failed_checks(estimator):
    if isinstance(estimator, SparseCoder):
        width = estimator.dictionary.shape[1]
        return {
            name: f"the dictionary fixes n_features={width}; this check uses data with n_features={n} "
            "(run with a matching dictionary in test_sparse_coder_check_with_matching_dictionary)"
            for name, n in _CHECK_N_FEATURES.items()
            if n != width
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("check_name", sorted(_CHECK_N_FEATURES))
def test_sparse_coder_check_with_matching_dictionary(check_name):
    check = getattr(estimator_checks, check_name)
    check("SparseCoder", _coder(_CHECK_N_FEATURES[check_name]))

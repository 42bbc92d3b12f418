"""scikit-learn's common estimator checks for SBLRegressor (all three methods)."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.sbl import SBLRegressor


@parametrize_with_checks([SBLRegressor(), SBLRegressor(method="em", max_iter=50),
                          SBLRegressor(method="mackay")])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)

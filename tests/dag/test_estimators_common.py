"""scikit-learn's common estimator checks for CoLiDE (an unsupervised estimator with ``fit`` only).

A short iteration budget keeps each check fast; the ConvergenceWarning it
raises is expected and silenced.
"""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.dag import CoLiDE


@parametrize_with_checks([CoLiDE(warm_iter=20, max_iter=20, check_every=10),
                          CoLiDE("nonequal", warm_iter=20, max_iter=20, check_every=10)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)

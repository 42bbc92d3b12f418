"""scikit-learn's common estimator checks for LowRankImputer."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from optlib.completion import LowRankImputer


@parametrize_with_checks([LowRankImputer(rank=2, max_iter=30, random_state=0)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

"""Multi-task paths (``enet_path`` / ``lasso_path`` with a 2-D ``y``), MultiTaskLassoCV / MultiTaskElasticNetCV
and ``sparse_coef_`` of the multi-task estimators, against scikit-learn.

scikit-learn's own multi-task CV tests, adapted, are in test_sklearn_multitask_cv.py.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn import linear_model as sklm

from optlib.linear_model import MultiTaskElasticNet, MultiTaskLasso


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 30)
    W = np.zeros((3, 30))
    W[:, :5] = rng.randn(3, 5)
    Y = X @ W.T + 0.1 * rng.randn(40, 3)
    return X, Y


@pytest.mark.parametrize("interface", ["spmatrix", "sparray"])
@pytest.mark.parametrize(("ours", "ref"), [(MultiTaskLasso, sklm.MultiTaskLasso),
                                           (MultiTaskElasticNet, sklm.MultiTaskElasticNet)])  # fmt: skip
def test_sparse_coef_type_matches_sklearn(problem, ours, ref, interface):
    X, Y = problem
    a, b = ours(alpha=0.1).fit(X, Y), ref(alpha=0.1).fit(X, Y)
    with sklearn.config_context(sparse_interface=interface):
        sa, sb = a.sparse_coef_, b.sparse_coef_
    assert type(sa) is type(sb)
    assert sa.shape == sb.shape == (3, 30)
    np.testing.assert_array_equal(sa.toarray(), a.coef_)
    assert sp.issparse(sa)

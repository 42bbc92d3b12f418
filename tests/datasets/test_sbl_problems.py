"""Generators of optlib.sbl problems: shapes, dtypes, realised SNR, Kronecker structure, reproducibility."""

from functools import reduce

import numpy as np
import pytest

from optlib.datasets import make_irs_channel, make_kronecker_sparse


def _snr_db(d):
    clean = reduce(np.kron, d.factors) @ d.x
    return 10 * np.log10(np.mean(np.abs(clean) ** 2) / d.noise_var), clean


@pytest.mark.parametrize("complex_data", [False, True])
def test_kronecker_sparse_shapes_support_and_snr(complex_data):
    d = make_kronecker_sparse((6, 7, 8), (9, 10, 11), (2, 3, 1), snr_db=15, complex_data=complex_data,
                              random_state=0)
    assert [A.shape for A in d.factors] == [(6, 9), (7, 10), (8, 11)]
    assert d.y.shape == (336,) and d.x.shape == (990,) and d.support.sum() == 6
    assert np.iscomplexobj(d.y) == complex_data and np.iscomplexobj(d.x) == complex_data
    snr, clean = _snr_db(d)
    assert snr == pytest.approx(15)
    # realised noise power matches noise_var within sampling error (336 samples)
    assert np.mean(np.abs(d.y - clean) ** 2) / d.noise_var == pytest.approx(1, abs=0.25)


def test_kronecker_sparse_reproducible_and_checked():
    a = make_kronecker_sparse((4, 5), (6, 7), 2, random_state=3)
    b = make_kronecker_sparse((4, 5), (6, 7), 2, random_state=3)
    c = make_kronecker_sparse((4, 5), (6, 7), 2, random_state=4)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    with pytest.raises(ValueError, match="same non-zero length"):
        make_kronecker_sparse((4, 5), (6,), 1)
    with pytest.raises(ValueError, match="n_nonzero"):
        make_kronecker_sparse((4, 5), (6, 7), 7)


def test_irs_channel_paper_setup():
    c = make_irs_channel(snr_db=10, random_state=0)
    assert [A.shape for A in c.factors] == [(3, 18), (6, 18), (16, 18)]
    assert c.y.shape == (288,) and c.y.dtype == np.complex128 and c.x.shape == (18**3,)
    assert c.channel.shape == (6, 256, 16) and c.effective.shape == (6, 6, 16)
    # Kronecker support: 1 MS angle, blocks of 3 (IRS difference angle, BS)
    X = np.abs(c.x.reshape(18, 18, 18)) > 0
    counts = [X.any(axis=tuple(j for j in range(3) if j != i)).sum() for i in range(3)]
    assert counts == [1, 3, 3] and c.support.sum() == 9
    snr, clean = _snr_db(c)
    assert snr == pytest.approx(10)
    # the measurements are the effective channels seen through the pilots, and the channel is x through D_i
    Y = np.einsum("pm,mkb->pkb", c.training[0], c.effective).reshape(-1)
    np.testing.assert_allclose(Y, clean, atol=1e-10)
    G = np.einsum("ia,jb,kc,abc->ijk", *c.dictionaries, c.x.reshape(18, 18, 18))
    np.testing.assert_allclose(G, c.channel, atol=1e-10)
    np.testing.assert_allclose(np.abs(c.training[1]), 1 / 16)


def test_irs_channel_reproducible_and_checked():
    a, b = make_irs_channel(random_state=5), make_irs_channel(random_state=5)
    np.testing.assert_array_equal(a.y, b.y)
    with pytest.raises(ValueError, match="spread"):
        make_irs_channel(spread=30)
    with pytest.raises(ValueError, match="n_pilots"):
        make_irs_channel(n_pilots=0)

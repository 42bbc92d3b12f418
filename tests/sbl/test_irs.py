"""IRS-MIMO channel estimation (He and Joseph's setup) and the initial prior of KroSBL.

The paper's code starts every variant from unit prior variances on its IRS dictionary, whose columns (the
product of two unit-norm steering vectors) have norm ``1 / sqrt(n_irs)``. EM is not invariant to that start:
from a prior far above the data scale the irrelevant variances shrink slowly and AM-/PC-KroSBL stopped at
150 iterations with dense factors (NMSE 0.07 / 0.12 at 12 dB, seed 0, when the generator used unit-norm IRS
columns); from the paper's start they converge in about 100 iterations. ``gamma_init=256`` reproduces the old
start on the current generator.
Measured ordering (50 trials, 4-20 dB, the paper's settings): benchmarks/results/bench_sbl_irs.md. The paper's
ordering of mean NMSE comes from the trials where a method fails (NMSE ~ 0.2-1.3): AM, SVD and classical SBL fail on
some channels at every SNR, PC-KroSBL much more rarely; their medians are close from 12 dB.
"""

from functools import reduce

import numpy as np
import pytest

from optlib.datasets import make_irs_channel
from optlib.sbl import kron_sbl, sbl
from optlib.sbl._kronecker import mode_product

SETTINGS = {"svd": dict(method="svd"),
            "am": dict(method="am", prune_threshold=(1e-1, 1e-2, 1e-3)),
            "pc": dict(method="pc", prune_threshold=(1e-1, 1e-2, 1e-2), coupling=(0.0, 0.8, 0.8))}


def _nmse(c, x):
    """The paper's NMSE: per training IRS pattern, averaged over the patterns."""
    est = mode_product(np.reshape(x, (c.grid.size,) * 3), c.effective_dictionaries, np)
    err = np.sum(np.abs(est - c.effective) ** 2, axis=(0, 2)) / np.sum(np.abs(c.effective) ** 2, axis=(0, 2))
    return float(np.mean(err))


def test_irs_dictionaries_scaled_as_in_the_paper():
    c = make_irs_channel(snr_db=12, random_state=0)
    norms = [np.linalg.norm(D, axis=0) for D in c.dictionaries]
    np.testing.assert_allclose(norms[0], 1.0)
    np.testing.assert_allclose(norms[1], 1 / 16)
    np.testing.assert_allclose(norms[2], 1.0)
    np.testing.assert_allclose(mode_product(c.x.reshape(18, 18, 18), c.dictionaries, np), c.channel)


def test_irs_training_shared_across_trials():
    """The paper's script draws the pilots and IRS patterns once for all trials: ``training`` does that."""
    a, b = make_irs_channel(random_state=1, training=7), make_irs_channel(random_state=2, training=7)
    for Pa, Pb in zip(a.training, b.training):
        np.testing.assert_array_equal(Pa, Pb)
    assert not np.allclose(a.x, b.x)
    # the channel (and the noise draws) depend on random_state only
    own = make_irs_channel(random_state=1)
    assert not np.allclose(own.training[1], a.training[1])
    np.testing.assert_array_equal(own.x, a.x)
    np.testing.assert_array_equal(own.channel, a.channel)
    pilots, patterns = np.ones((3, 6)) / np.sqrt(6), -np.ones((6, 256)) / 16
    given = make_irs_channel(random_state=1, training=(pilots, patterns))
    np.testing.assert_array_equal(given.training[1], patterns)
    np.testing.assert_allclose(given.factors[0], pilots @ given.dictionaries[0])
    assert given.training[0].dtype == np.complex128 and pilots.dtype == np.float64  # copied, input untouched
    with pytest.raises(ValueError, match="training patterns must be a finite array of shape"):
        make_irs_channel(training=(pilots, patterns[:5]))
    with pytest.raises(ValueError, match="training pilots"):
        make_irs_channel(training=(np.full((3, 6), np.nan), patterns))
    with pytest.raises(ValueError, match="pair"):
        make_irs_channel(training=(pilots,))


@pytest.mark.parametrize("method", ["am", "pc"])
def test_am_and_pc_converge_on_irs(method):
    c = make_irs_channel(snr_db=12, random_state=0)
    res = kron_sbl(c.factors, c.y, noise_var=c.noise_var, **SETTINGS[method])
    assert res.success and res.nit < 120  # was 150 (the cap), success False
    assert _nmse(c, res.x) < 5e-2  # was 0.15 (AM), 0.22 (PC)
    assert res.support.sum() <= 24  # 9 true nonzeros; was 3888 (AM), 4212 (PC)


def test_gamma_init_is_relative_to_the_data_scale():
    c = make_irs_channel(snr_db=12, random_state=0)
    s = 7.0
    ref = kron_sbl(c.factors, c.y, noise_var=c.noise_var, method="am", gamma_init=0.3, max_iter=30)
    scaled = kron_sbl(c.factors, c.y * s, noise_var=c.noise_var * s**2, method="am", gamma_init=0.3 * s**2,
                      max_iter=30)
    np.testing.assert_allclose(scaled.x, ref.x * s, rtol=1e-6, atol=1e-9 * s * np.abs(ref.x).max())
    assert scaled.nit == ref.nit
    with pytest.raises(ValueError, match="gamma_init"):
        kron_sbl(c.factors, c.y, gamma_init=0.0)


@pytest.mark.slow
def test_irs_ordering_pc_am_svd_classical():
    """The paper's ordering at 12 dB, mean of 3 trials: PC < AM ~ SVD < classical EM-SBL.

    Measured (seeds 0, 1, 2): PC 0.038 / 0.021 / 0.020 (mean 0.026), AM 0.008 / 0.21 / 0.019 (0.081),
    SVD 0.027 / 0.41 / 0.030 (0.156), classical 0.21 / 0.43 / 0.78 (0.47). As over 50 trials, the means are
    set by a failure (seed 1: AM and SVD above 0.1, PC not); on seeds 0 and 2 PC is not the best. Before the
    initial-prior fix AM and PC stopped at the iteration cap and PC was the worst variant.
    """
    errors = {name: [] for name in [*SETTINGS, "classical"]}
    for seed in range(3):
        c = make_irs_channel(snr_db=12, random_state=seed)
        for name, kw in SETTINGS.items():
            errors[name].append(_nmse(c, kron_sbl(c.factors, c.y, noise_var=c.noise_var, **kw).x))
        em = sbl(reduce(np.kron, c.factors), c.y, method="em", noise_var=c.noise_var, max_iter=150)
        errors["classical"].append(_nmse(c, em.x))
    mean = {name: np.mean(v) for name, v in errors.items()}
    assert max(errors["pc"]) < 0.1 < max(errors["am"]) and max(errors["svd"]) > 0.1, errors
    assert mean["pc"] < min(mean["am"], mean["svd"]), mean
    assert 1 / 3 < mean["am"] / mean["svd"] < 3, mean
    assert max(mean["am"], mean["svd"]) < mean["classical"], mean

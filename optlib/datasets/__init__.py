"""Synthetic problem generators (offline, reproducible through ``random_state``).

The block-coordinate-descent test problems of Nutini, Laradji and Schmidt
(JMLR 2022), see ``docs/user_guide/bcd.md``:

========  ===================================================  =========================================
problem   generator                                            objective
========  ===================================================  =========================================
A         :func:`make_bcd_least_squares`                       ``0.5 ||A x - b||^2``
B         :func:`make_bcd_logistic`                            ``sum_i log(1 + exp(-b_i a_i x))``
C         :func:`make_bcd_softmax`                             softmax cross-entropy, 50 classes
D         :func:`make_lattice_label_propagation`               ``0.5 x^T Q x - c^T x`` on a 50 x 50 lattice
E         :func:`make_moons_label_propagation`                 the same on a two-moons kNN graph
L1        :func:`make_nonnegative_l1_problem`                  ``0.5 ||A x - b||^2 + lam sum x, x >= 0``
========  ===================================================  =========================================

:func:`load_bcd_problem` returns any of them by its letter.

Random DAGs and linear structural equation models for ``optlib.dag``:
:func:`simulate_dag` (Erdos-Renyi or scale-free) and
:func:`simulate_linear_sem` (Gaussian, exponential, Laplace or Gumbel noise,
equal or unequal variances).

Equality-constrained problems for ``optlib.optimize.minimize_eq``:
:func:`load_constrained_problem` (Hock-Schittkowski and Boggs-Tolle problems,
names in :data:`CONSTRAINED_PROBLEMS`), :func:`make_constrained_logistic`
and :func:`make_pde_control`, each an :class:`EqualityProblem`.

Test images for imaging: :func:`load_image` (scikit-image's bundled set,
names in :data:`IMAGES`, values in ``[0, 1]``).

Hyperspectral scenes for ``optlib.hyperspectral``: :func:`make_hyperspectral_scene`
(earthlib or synthetic spectra, Dirichlet / Gaussian-random-field / block
abundances), :func:`load_earthlib_spectra`, and the noise models
:func:`add_awgn`, :func:`add_band_noise`, :func:`add_impulse_noise`,
:func:`add_stripes`, :func:`add_dead_lines`, :func:`add_blank_bands`.
"""

from ._bcd_problems import (
    load_bcd_problem,
    make_bcd_least_squares,
    make_bcd_logistic,
    make_bcd_softmax,
    make_lattice_label_propagation,
    make_moons_label_propagation,
    make_nonnegative_l1_problem,
)
from ._completion import make_low_rank_completion
from ._constrained import (
    CONSTRAINED_PROBLEMS,
    EqualityProblem,
    load_constrained_problem,
    make_constrained_logistic,
    make_pde_control,
)
from ._dag import simulate_dag, simulate_linear_sem
from ._hyperspectral import (
    add_awgn,
    add_band_noise,
    add_blank_bands,
    add_dead_lines,
    add_impulse_noise,
    add_stripes,
    load_earthlib_spectra,
    make_abundances,
    make_hyperspectral_scene,
    make_synthetic_spectra,
)
from ._images import IMAGES, load_image
from ._mimo import make_nearfield_mimo
from ._sbl_problems import make_irs_channel, make_kronecker_sparse

__all__ = [
    "CONSTRAINED_PROBLEMS",
    "EqualityProblem",
    "load_constrained_problem",
    "make_constrained_logistic",
    "make_pde_control",
    "load_bcd_problem",
    "make_bcd_least_squares",
    "make_bcd_logistic",
    "make_bcd_softmax",
    "make_lattice_label_propagation",
    "make_low_rank_completion",
    "make_nearfield_mimo",
    "make_moons_label_propagation",
    "make_nonnegative_l1_problem",
    "simulate_dag",
    "simulate_linear_sem",
    "make_kronecker_sparse",
    "make_irs_channel",
    "IMAGES",
    "load_image",
    "add_awgn",
    "add_band_noise",
    "add_blank_bands",
    "add_dead_lines",
    "add_impulse_noise",
    "add_stripes",
    "load_earthlib_spectra",
    "make_abundances",
    "make_hyperspectral_scene",
    "make_synthetic_spectra",
]

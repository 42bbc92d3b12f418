"""HyperspectralDenoiser: the HyDe-family denoisers as a scikit-learn transformer, with tiled Dask processing."""

import numbers

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._backend import get_namespace
from .._validation import check_option, check_scalar
from ._denoise_common import check_cube, clean_outliers
from ._denoise_fasthyde import fit_fasthyde
from ._denoise_hyres import fit_hyres
from ._denoise_mixed import denoise_hyminor, denoise_l1hymixde
from ._denoise_otvca import denoise_otvca

__all__ = ["HyperspectralDenoiser"]

METHODS = ("hyres", "fasthyde", "hyminor", "l1hymixde", "otvca")
_PER_CUBE = {"hyminor": denoise_hyminor, "l1hymixde": denoise_l1hymixde, "otvca": denoise_otvca}


def _is_dask(x):
    return type(x).__module__.split(".")[0] == "dask"


class HyperspectralDenoiser(TransformerMixin, BaseEstimator):
    """Denoise hyperspectral cubes (rows, cols, bands) with the HyDe-family methods; HyRes and FastHyDe fit once.

    ``method="hyminor"``, ``"l1hymixde"`` and ``"otvca"`` are iterative and
    global: ``fit`` only checks the cube and ``transform`` runs
    :func:`denoise_hyminor`, :func:`denoise_l1hymixde` or
    :func:`denoise_otvca` on each cube it gets (in memory; Dask cubes raise
    ``TypeError``). What follows is about HyRes and FastHyDe.

    ``fit`` estimates everything global: the per-band noise levels and the
    spectral subspace (principal directions for HyRes, HySime signal
    subspace for FastHyDe) and the SURE soft thresholds of every wavelet
    subband and component, plus HyRes' rank. ``transform`` applies them:
    spectral projection, periodized wavelet shrinkage, synthesis, which is
    local in space. Hence Dask cubes are denoised tile by tile
    (``map_overlap`` over spatial chunks, band axis in one chunk) with the
    globally fitted parameters, and the result equals the in-memory
    ``transform`` away from tile borders and, with ``overlap`` at least
    :attr:`overlap_` (the default), everywhere when the spatial sizes and
    chunks are multiples of ``2**level``. ``fit_transform`` of an in-memory
    cube equals :func:`denoise_hyres` / :func:`denoise_fasthyde` (with
    ``denoiser="sure"``).

    Fitting a Dask cube fits on a window of at most ``fit_size`` x
    ``fit_size`` pixels at its centre, loaded in memory (the spectral
    statistics of a large scene are well estimated from a few hundred
    thousand pixels); pass the whole scene, computed, to fit on all of it.

    Parameters
    ----------
    method : {"hyres", "fasthyde", "hyminor", "l1hymixde", "otvca"}, default="hyres"
    sigma : float or array of shape (bands,), optional
        Noise std; estimated per band when omitted.
    n_components : int, optional
        Subspace dimension (HySime when omitted); HyRes' largest rank
        (unused by HyMiNoR).
    noise : {"additive", "poisson"}, default="additive"
        FastHyDe only (Anscombe transform for Poisson counts).
    wavelet : str, default="db5"
    level : int, default=5
        DWT levels; the tile overlap grows as ``2**level``, so lower it
        (e.g. 3) for tiled processing of large cubes.
    overlap : int, optional
        Tile overlap in pixels for Dask input; default :attr:`overlap_`.
    fit_size : int, default=512
        Side of the central window fitted for Dask input.
    shifts : int, optional
        Cycle spinning (see :func:`denoise_fasthyde`); default 1 for HyRes,
        4 for FastHyDe. The tile overlap grows by ``shifts - 1``.
    robust : {"auto", True, False}, default="auto"
        FastHyDe and OTVCA: impulses and column stripes removed from each
        cube first, in the bands where they are detected (``"auto"``) or
        in every band (``True``); see :func:`denoise_fasthyde`. In memory
        only: with Dask cubes ``True`` raises ``TypeError`` and ``"auto"``
        removes nothing (the tiles are denoised as with ``False``).
    params : dict, optional
        Further keyword arguments of :func:`denoise_hyminor`,
        :func:`denoise_l1hymixde` or :func:`denoise_otvca` (e.g. ``lam``).

    Attributes
    ----------
    model_ : SubspaceShrinkage or None
        The fitted parameters (``W``, ``B``, ``thresholds``, ``level``);
        None for the per-cube methods.
    sigma_ : array of shape (bands,)
        HyRes and FastHyDe only.
    n_components_ : int
        Rank (HyRes) or subspace dimension (FastHyDe); HyRes and FastHyDe only.
    overlap_ : int
        Tile overlap making tiled and in-memory results equal; HyRes and FastHyDe only.
    n_features_in_ : int
        Number of bands.
    """

    def __init__(self, method="hyres", *, sigma=None, n_components=None, noise="additive", wavelet="db5",
                 level=5, overlap=None, fit_size=512, shifts=None, robust="auto", params=None):
        self.method = method
        self.sigma = sigma
        self.n_components = n_components
        self.noise = noise
        self.wavelet = wavelet
        self.level = level
        self.overlap = overlap
        self.fit_size = fit_size
        self.shifts = shifts
        self.robust = robust
        self.params = params

    def fit(self, X, y=None):
        """Fit the global parameters on cube ``X`` (rows, cols, bands); Dask cubes on a central window."""
        check_option(self.method, "method", METHODS)
        if self.method in _PER_CUBE:
            self._check_dask(X)
            X, _ = check_cube(X, "X")
            self.model_ = None
            self.n_features_in_ = X.shape[2]
            return self
        robust = self.robust
        if _is_dask(X):
            if not isinstance(self.robust, str) and self.robust:
                self._check_dask(X)
            robust = False
            size = check_scalar(self.fit_size, "fit_size", kind=numbers.Integral, lower=8)
            r0 = max(0, (X.shape[0] - size) // 2)
            c0 = max(0, (X.shape[1] - size) // 2)
            X = X[r0:r0 + size, c0:c0 + size, :].compute()
        X, _ = check_cube(X, "X")
        if self.method == "hyres":
            if self.noise != "additive":
                raise ValueError("method='hyres' handles additive noise only; use method='fasthyde' for noise='poisson'.")
            model, info = fit_hyres(X, sigma=self.sigma, wavelet=self.wavelet, level=self.level,
                                    max_rank=self.n_components, shifts=1 if self.shifts is None else self.shifts)
            self.n_components_ = info["rank"]
        else:
            model, info = fit_fasthyde(self._clean(X, robust), n_components=self.n_components, noise=self.noise,
                                       sigma=self.sigma, wavelet=self.wavelet, level=self.level,
                                       shifts=4 if self.shifts is None else self.shifts)
            self.n_components_ = info["n_components"]
        self.model_ = model
        self.sigma_ = info["sigma"]
        self.overlap_ = model.support
        self.n_features_in_ = X.shape[2]
        return self

    def transform(self, X):
        """Denoise cube ``X`` with the fitted parameters (Dask cubes tile by tile, lazily)."""
        check_is_fitted(self, "model_")
        if self.method in _PER_CUBE:
            self._check_dask(X)
            X, _ = check_cube(X, "X")
            self._check_bands(X)
            return _PER_CUBE[self.method](X, **self._method_kwargs())
        if _is_dask(X):
            if not isinstance(self.robust, str) and self.robust:
                self._check_dask(X)
            if X.ndim != 3:
                raise ValueError(f"X must be a 3-D cube (rows, cols, bands), got shape {tuple(X.shape)}.")
            self._check_bands(X)
            return self.model_.apply_tiled(X, overlap=self.overlap)
        X, _ = check_cube(X, "X")
        self._check_bands(X)
        return self.model_.apply(self._clean(X, self.robust))

    def _check_bands(self, X):
        if X.shape[2] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[2]} bands, but HyperspectralDenoiser was fitted on "
                             f"{self.n_features_in_}.")

    def _clean(self, X, robust):
        """FastHyDe: ``X`` without impulses and stripes as ``robust`` asks (see :func:`clean_outliers`)."""
        if self.method != "fasthyde":
            return X
        return clean_outliers(get_namespace(X), X, robust)

    def _check_dask(self, X):
        if _is_dask(X):
            raise TypeError(f"method={self.method!r} (robust={self.robust!r}) is global and does not run tile by "
                            "tile; compute the cube first, or use method='hyres' or 'fasthyde' (robust='auto' or "
                            "False) for tiled Dask processing.")

    def _method_kwargs(self):
        kwargs = {"sigma": self.sigma}
        if self.method != "hyminor":
            kwargs["n_components"] = self.n_components
        else:
            kwargs.update(wavelet=self.wavelet, level=self.level)
        if self.method == "l1hymixde":
            kwargs.update(wavelet=self.wavelet, level=self.level, shifts=4 if self.shifts is None else self.shifts)
        if self.method == "otvca":
            kwargs["robust"] = self.robust
        kwargs.update(self.params or {})
        return kwargs

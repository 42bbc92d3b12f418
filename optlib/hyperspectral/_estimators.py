"""scikit-learn estimators: SpectralUnmixing (abundances as a transform) and EndmemberExtractor.

Both take ``X`` of shape ``(pixels, bands)`` or a cube ``(rows, cols,
bands)`` (its pixels, in C order; ``transform`` then returns ``(rows, cols,
n_endmembers)``); arrays of other array-API libraries stay in their
namespace and on their device.
"""

import numbers

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._backend import device, get_namespace
from .._validation import check_option, check_scalar
from ..decomposition._sparse_coding import _as_like, _validate_X
from ._extraction import EXTRACTORS, extract_endmembers, hysime
from ._rrlbs import rrlbs
from ._sunsal import sunsal
from ._unmixing import unmix

__all__ = ["SpectralUnmixing", "EndmemberExtractor"]


def _as_pixels(X):
    """``(X, lead)``: a ``(rows, cols, bands)`` cube as ``(pixels, bands)`` with ``lead = (rows, cols)``.

    Other inputs come back as they are, with ``lead = None``.
    """
    if getattr(X, "ndim", None) != 3:
        return X, None
    return get_namespace(X).reshape(X, (-1, X.shape[-1])), tuple(X.shape[:2])


def _n_endmembers(estimator, X):
    """The requested number of endmembers, or HySime's estimate when it is None."""
    if estimator.n_endmembers is None:
        return max(1, min(hysime(X).n_components, *X.shape))
    return check_scalar(estimator.n_endmembers, "n_endmembers", kind=numbers.Integral, lower=1)


class EndmemberExtractor(BaseEstimator):
    """Endmember extraction by VCA, N-FINDR or ATGP.

    Parameters
    ----------
    n_endmembers : int or None
        Number of endmembers; estimated by HySime when None.
    method : {"vca", "nfindr", "atgp"}
    random_state : None, int or Generator
        Used by VCA.

    Attributes
    ----------
    endmembers_ : array of shape (n_endmembers, n_features)
    indices_ : ndarray of shape (n_endmembers,)
        Rows of ``X`` the endmembers come from.
    n_features_in_ : int
    """

    def __init__(self, n_endmembers=None, *, method="vca", random_state=None):
        self.n_endmembers = n_endmembers
        self.method = method
        self.random_state = random_state

    def fit(self, X, y=None):
        """Extract the endmembers of ``X`` (pixels, bands) or (rows, cols, bands)."""
        check_option(self.method, "method", tuple(EXTRACTORS))
        X, _ = _validate_X(self, _as_pixels(X)[0], reset=True)
        p = _n_endmembers(self, X)
        out = extract_endmembers(X, min(p, *X.shape), method=self.method, random_state=self.random_state)
        self.endmembers_ = out.endmembers
        self.indices_ = out.indices
        return self


class SpectralUnmixing(TransformerMixin, BaseEstimator):
    """Linear unmixing: endmembers from ``fit``, abundances from ``transform``.

    Parameters
    ----------
    n_endmembers : int or None
        Number of endmembers to extract (HySime's estimate when None);
        ignored when ``endmembers`` is given.
    endmembers : array of shape (n_endmembers, n_features), optional
        Known endmember spectra; otherwise ``fit`` extracts them.
    method : {"fcls", "nnls", "ucls", "sunsal", "rrlbs"}
        Per-pixel solver of :func:`optlib.hyperspectral.unmix`;
        ``"sunsal"``: :func:`optlib.hyperspectral.sunsal` (``endmembers`` may
        then be a large library, with weight ``lam``); ``"rrlbs"``: ``fit``
        estimates the endmembers by :func:`optlib.hyperspectral.rrlbs`
        (unless given) and ``transform`` solves FCLS with its band weights
        (``band_weights_``), so outlier bands count little.
    lam : float >= 0
        l1 weight of ``"sunsal"`` (ignored otherwise).
    extractor : {"vca", "nfindr", "atgp"}
        Endmember extraction used by ``fit``.
    engine : {"auto", "numba", "xp"}
    random_state : None, int or Generator

    Attributes
    ----------
    endmembers_ : array of shape (n_endmembers, n_features)
    band_weights_ : array of shape (n_features,)
        Only for ``method="rrlbs"``: the l2,1 band weights (ones when the
        endmembers are given).
    n_features_in_ : int
    """

    def __init__(self, n_endmembers=None, *, endmembers=None, method="fcls", lam=0.0, extractor="vca",
                 engine="auto", random_state=None):
        self.n_endmembers = n_endmembers
        self.endmembers = endmembers
        self.method = method
        self.lam = lam
        self.extractor = extractor
        self.engine = engine
        self.random_state = random_state

    def fit(self, X, y=None):
        """Estimate (or take) the endmembers of ``X`` (pixels, bands) or (rows, cols, bands)."""
        check_option(self.method, "method", ("fcls", "nnls", "ucls", "sunsal", "rrlbs"))
        check_scalar(self.lam, "lam", lower=0.0)
        X, xp = _validate_X(self, _as_pixels(X)[0], reset=True)
        if self.endmembers is not None:
            E = _as_like(self.endmembers, X, xp, "endmembers")
            if E.shape[1] != X.shape[1]:
                raise ValueError(f"endmembers has {E.shape[1]} bands but X has {X.shape[1]}; they must match.")
            self.endmembers_ = E
            if self.method == "rrlbs":
                self.band_weights_ = xp.ones(X.shape[1], dtype=X.dtype, device=device(X))
        elif self.method == "rrlbs":
            res = rrlbs(X, min(_n_endmembers(self, X), *X.shape), engine=self.engine, random_state=self.random_state)
            self.endmembers_, self.band_weights_ = res.endmembers, res.band_weights
        else:
            check_option(self.extractor, "extractor", tuple(EXTRACTORS))
            p = _n_endmembers(self, X)
            self.endmembers_ = extract_endmembers(X, min(p, *X.shape), method=self.extractor,
                                                  random_state=self.random_state).endmembers
        return self

    def transform(self, X):
        """Abundances of the pixels of ``X``: (pixels, n_endmembers), or (rows, cols, n_endmembers) for a cube."""
        check_is_fitted(self)
        X, lead = _as_pixels(X)
        X, xp = _validate_X(self, X, reset=False)
        E = _as_like(self.endmembers_, X, xp, "endmembers_")
        if self.method == "sunsal":
            A = sunsal(X, E, lam=self.lam).x
        elif self.method == "rrlbs":
            scale = xp.sqrt(xp.astype(self.band_weights_, X.dtype))
            A = unmix(X * scale[None, :], E * scale[None, :], method="fcls", engine=self.engine)
        else:
            A = unmix(X, E, method=self.method, engine=self.engine)
        return A if lead is None else xp.reshape(A, lead + (A.shape[-1],))

    def inverse_transform(self, A):
        """Reconstructed spectra ``A @ endmembers_``."""
        check_is_fitted(self)
        return A @ self.endmembers_

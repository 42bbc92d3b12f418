"""Synthetic hyperspectral scenes: endmember spectra, abundance maps and noise models.

Layout (shared by ``optlib.hyperspectral``): a cube is ``(rows, cols, bands)``
(or ``(pixels, bands)``), endmembers are the rows of an ``(n_endmembers,
bands)`` array and abundances carry the endmember axis last, so the linear
mixing model reads ``Y = A @ E`` pixel by pixel (the spec's ``Y = E A`` with
every matrix transposed).

Everything here runs on the host (NumPy). The noise functions are separate
and reusable (the denoising family draws on them); each returns a new array
and never modifies its input. The functions that corrupt a subset of bands
also return the indices of those bands.
"""

import math
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_array, check_option, check_random_state, check_scalar

__all__ = [
    "load_earthlib_spectra",
    "make_synthetic_spectra",
    "make_abundances",
    "make_hyperspectral_scene",
    "add_awgn",
    "add_band_noise",
    "add_impulse_noise",
    "add_stripes",
    "add_dead_lines",
    "add_blank_bands",
    "EARTHLIB_CLASSES",
    "CORRUPTIONS",
]

EARTHLIB_CLASSES = ("bare", "vegetation", "built", "npv", "burned")
ABUNDANCE_MODELS = ("dirichlet", "grf", "blocks")


# -- endmember spectra ------------------------------------------------------------


def _parse_envi_header(text):
    """``key -> value`` of an ENVI header; ``{...}`` lists become lists of stripped strings."""
    fields, i = {}, 0
    lines = text.splitlines()
    while i < len(lines):
        line = lines[i]
        i += 1
        if "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if value.startswith("{"):
            while "}" not in value and i < len(lines):
                value += " " + lines[i].strip()
                i += 1
            value = [v.strip() for v in value.strip("{} ").split(",")]
        fields[key.lower()] = value
    return fields


@lru_cache(maxsize=1)
def _earthlib_library():
    spec = find_spec("earthlib")
    if spec is None:
        raise ImportError(
            "endmembers='earthlib' needs the optional package earthlib (pip install earthlib); "
            "use endmembers='synthetic' for smooth synthetic spectra without it."
        )
    data = Path(spec.origin).parent / "data"
    header = _parse_envi_header((data / "spectra.sli.hdr").read_text())
    n_spectra, n_bands = int(header["lines"]), int(header["samples"])
    dtypes = {"4": np.float32, "5": np.float64}
    dtype = np.dtype(dtypes[header["data type"]]).newbyteorder(">" if header.get("byte order") == "1" else "<")
    offset = int(header.get("header offset", 0))
    spectra = np.fromfile(data / "spectra.sli", dtype=dtype, offset=offset).reshape(n_spectra, n_bands)
    names = np.asarray(header["spectra names"])
    # spectra.csv lists the spectra in the library's order (one name differs in spelling)
    rows = (data / "spectra.csv").read_text().splitlines()[1:]
    labels = np.asarray([row.split(",")[2] for row in rows])
    if labels.size != n_spectra:
        raise ValueError(f"earthlib's spectra.csv has {labels.size} rows for {n_spectra} spectra.")
    wavelengths = np.asarray([float(w) for w in header["wavelength"]])
    return spectra.astype(np.float64), wavelengths, names, labels


def load_earthlib_spectra(classes=None):
    """The earthlib spectral library (7,261 spectra x 180 bands, 0.40-2.45 um), read offline.

    Reads the ENVI spectral library ``earthlib/data/spectra.sli`` shipped in
    the ``earthlib`` wheel (an optional dependency: ``pip install earthlib``)
    with NumPy, and the class of each spectrum from ``spectra.csv``.

    Parameters
    ----------
    classes : str or sequence of str, optional
        Keep only these classes among :data:`EARTHLIB_CLASSES`
        (``"bare"``, ``"vegetation"``, ``"built"``, ``"npv"``, ``"burned"``).

    Returns
    -------
    Bunch
        ``spectra`` (n, 180) float64 reflectances, ``wavelengths`` (180,) in
        micrometres, ``names`` and ``classes`` (n,) string arrays.
    """
    spectra, wavelengths, names, labels = _earthlib_library()
    if classes is not None:
        classes = (classes,) if isinstance(classes, str) else tuple(classes)
        for c in classes:
            check_option(c, "class", EARTHLIB_CLASSES)
        keep = np.isin(labels, classes)
        spectra, names, labels = spectra[keep], names[keep], labels[keep]
    return Bunch(spectra=spectra.copy(), wavelengths=wavelengths.copy(), names=names, classes=labels)


def make_synthetic_spectra(n_endmembers, n_bands=180, *, min_angle=5.0, random_state=None):
    """Smooth synthetic reflectance spectra (sums of Gaussian absorption/reflection bumps).

    Each spectrum is a sloped baseline plus five Gaussian bumps of random
    centre, width (3-25% of the band range) and sign, clipped to [0.02, 1].
    Candidates closer than ``min_angle`` degrees (spectral angle) to an
    accepted spectrum are redrawn, so the endmembers are never near-collinear.

    Returns
    -------
    ndarray of shape (n_endmembers, n_bands)
    """
    n_endmembers = check_scalar(n_endmembers, "n_endmembers", kind=int, lower=1)
    n_bands = check_scalar(n_bands, "n_bands", kind=int, lower=2)
    min_angle = check_scalar(min_angle, "min_angle", lower=0.0, upper=90.0, upper_inclusive=False)
    rng = check_random_state(random_state)
    t = np.linspace(0.0, 1.0, n_bands)

    def draw():
        s = rng.uniform(0.1, 0.5) + rng.uniform(-0.2, 0.2) * t
        for _ in range(5):
            centre, width = rng.uniform(-0.1, 1.1), rng.uniform(0.03, 0.25)
            s = s + rng.uniform(-0.3, 0.5) * np.exp(-0.5 * ((t - centre) / width) ** 2)
        return np.clip(s, 0.02, 1.0)

    return _distinct(draw, n_endmembers, min_angle, "synthetic spectra")


def _distinct(draw, n, min_angle, what, max_draws=10000):
    """``n`` vectors from ``draw()`` pairwise at least ``min_angle`` degrees apart."""
    cos_max = math.cos(math.radians(min_angle))
    accepted = []
    for _ in range(max_draws):
        s = draw()
        u = s / np.linalg.norm(s)
        if all(u @ v < cos_max for v in accepted):
            accepted.append(u)
            if len(accepted) == n:
                return np.stack(accepted)
    raise ValueError(f"could not draw {n} {what} at least {min_angle} degrees apart; lower min_angle or n_endmembers.")


def _earthlib_endmembers(n, classes, min_angle, rng):
    lib = load_earthlib_spectra()
    spectra, labels, names = lib.spectra, lib.classes, lib.names
    ok = np.linalg.norm(spectra, axis=1) > 0
    if classes is not None:
        classes = (classes,) if isinstance(classes, str) else tuple(classes)
        for c in classes:
            check_option(c, "class", EARTHLIB_CLASSES)
        ok &= np.isin(labels, classes)
    pool = np.flatnonzero(ok)
    if classes is not None and len(classes) > 1:  # round-robin over the classes first
        order = [rng.permutation(pool[labels[pool] == c]) for c in classes]
        pool = np.asarray([i for group in _interleave(order) for i in group])
    else:
        pool = rng.permutation(pool)
    unit = spectra / np.linalg.norm(spectra, axis=1, keepdims=True).clip(1e-300)
    cos_max = math.cos(math.radians(min_angle))
    picked = []
    for i in pool:
        if all(unit[i] @ unit[j] < cos_max for j in picked):
            picked.append(i)
            if len(picked) == n:
                break
    else:
        raise ValueError(f"the earthlib library holds fewer than {n} spectra {min_angle} degrees apart "
                         f"(classes={classes!r}); lower min_angle or n_endmembers.")
    idx = np.asarray(picked)
    return spectra[idx], lib.wavelengths, names[idx]


def _interleave(groups):
    longest = max(len(g) for g in groups)
    for k in range(longest):
        yield [g[k] for g in groups if k < len(g)]


# -- abundances -------------------------------------------------------------------


def _cap_purity(A, purity):
    """Shrink pixels whose largest abundance exceeds ``purity`` towards the uniform mix."""
    p = A.shape[-1]
    top = A.max(axis=-1, keepdims=True)
    t = np.where(top > purity, (purity - 1.0 / p) / np.maximum(top - 1.0 / p, 1e-300), 1.0)
    return t * A + (1.0 - t) / p


def _gaussian_fields(shape, n, length_scale, rng):
    """``n`` zero-mean unit-variance Gaussian random fields on a 2-D grid (FFT filtering)."""
    rows, cols = shape
    fr = np.fft.fftfreq(rows)[:, None]
    fc = np.fft.fftfreq(cols)[None, :]
    kernel = np.exp(-2.0 * (math.pi * length_scale) ** 2 * (fr**2 + fc**2))
    noise = rng.standard_normal((n, rows, cols))
    fields = np.real(np.fft.ifft2(np.fft.fft2(noise) * kernel))
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    fields /= fields.std(axis=(1, 2), keepdims=True) + 1e-300
    return np.moveaxis(fields, 0, -1)


def make_abundances(n_rows, n_cols, n_endmembers, *, model="dirichlet", concentration=1.0, purity=None,
                    n_pure_pixels=0, length_scale=8.0, temperature=0.5, block_size=8, filter_size=7,
                    random_state=None):
    """Abundance maps on the simplex (nonnegative, summing to one per pixel).

    Parameters
    ----------
    n_rows, n_cols, n_endmembers : int
    model : {"dirichlet", "grf", "blocks"}
        ``"dirichlet"``: i.i.d. Dirichlet(``concentration``) per pixel;
        ``"grf"``: softmax(``z / temperature``) of Gaussian random fields of
        correlation length ``length_scale`` pixels (spatially smooth);
        ``"blocks"``: a label map of ``block_size`` x ``block_size`` blocks,
        one-hot, smoothed by a ``filter_size`` mean filter.
    concentration : float > 0
        Dirichlet parameter (small values give nearly pure pixels).
    purity : float in (1/n_endmembers, 1], optional
        Cap on the largest abundance of a pixel: pixels above it are moved
        towards the uniform mix until their largest abundance equals it.
    n_pure_pixels : int
        Pure pixels per endmember placed at random positions afterwards
        (after the cap), so that pure-pixel extractors have something to find.
    random_state : None, int or Generator

    Returns
    -------
    ndarray of shape (n_rows, n_cols, n_endmembers)
    """
    n_rows = check_scalar(n_rows, "n_rows", kind=int, lower=1)
    n_cols = check_scalar(n_cols, "n_cols", kind=int, lower=1)
    p = check_scalar(n_endmembers, "n_endmembers", kind=int, lower=1)
    check_option(model, "model", ABUNDANCE_MODELS)
    n_pure_pixels = check_scalar(n_pure_pixels, "n_pure_pixels", kind=int, lower=0)
    if p * n_pure_pixels > n_rows * n_cols:
        raise ValueError(f"n_pure_pixels={n_pure_pixels} x {p} endmembers exceeds the {n_rows * n_cols} pixels.")
    rng = check_random_state(random_state)
    if model == "dirichlet":
        concentration = check_scalar(concentration, "concentration", lower=0.0, lower_inclusive=False)
        A = rng.dirichlet(np.full(p, concentration), size=(n_rows, n_cols))
    elif model == "grf":
        length_scale = check_scalar(length_scale, "length_scale", lower=0.0, lower_inclusive=False)
        temperature = check_scalar(temperature, "temperature", lower=0.0, lower_inclusive=False)
        z = _gaussian_fields((n_rows, n_cols), p, length_scale, rng) / temperature
        z -= z.max(axis=-1, keepdims=True)
        A = np.exp(z)
        A /= A.sum(axis=-1, keepdims=True)
    else:
        from scipy.ndimage import uniform_filter

        block_size = check_scalar(block_size, "block_size", kind=int, lower=1)
        filter_size = check_scalar(filter_size, "filter_size", kind=int, lower=1)
        labels = rng.integers(0, p, size=(-(-n_rows // block_size), -(-n_cols // block_size)))
        labels = np.repeat(np.repeat(labels, block_size, 0), block_size, 1)[:n_rows, :n_cols]
        A = np.eye(p)[labels]
        A = np.clip(uniform_filter(A, size=(filter_size, filter_size, 1), mode="reflect"), 0.0, None)
        A /= A.sum(axis=-1, keepdims=True)
    if purity is not None:
        purity = check_scalar(purity, "purity", lower=1.0 / p, upper=1.0, lower_inclusive=p == 1)
        A = _cap_purity(A, purity)
    if n_pure_pixels:
        flat = A.reshape(-1, p)
        where = rng.choice(flat.shape[0], size=p * n_pure_pixels, replace=False)
        flat[where] = np.eye(p)[np.repeat(np.arange(p), n_pure_pixels)]
    return A


# -- noise models -----------------------------------------------------------------


def _check_cube(Y, name="Y", ndim=(2, 3)):
    return np.array(check_array(Y, name, ndim=ndim), copy=True)


def _check_snr(snr):
    return check_scalar(snr, "snr")


def _pick_bands(n_bands, bands, fraction, rng):
    """Explicit ``bands`` (validated) or ``round(fraction * n_bands)`` distinct random bands, sorted."""
    if bands is not None:
        bands = np.unique(np.asarray(bands, dtype=np.int64).ravel())
        if bands.size and (bands[0] < 0 or bands[-1] >= n_bands):
            raise ValueError(f"bands must lie in [0, {n_bands}), got {bands.tolist()}.")
        return bands
    fraction = check_scalar(fraction, "fraction", lower=0.0, upper=1.0)
    k = int(round(fraction * n_bands))
    return np.sort(rng.choice(n_bands, size=k, replace=False))


def _sigma_at_snr(Y, snr):
    """Noise standard deviation for ``snr`` dB: ``sigma^2 = (sum Y^2 / N) / 10^(snr/10) / L``."""
    return math.sqrt(float(np.mean(np.square(Y, dtype=np.float64))) / 10.0 ** (snr / 10.0))


def add_awgn(Y, snr, *, random_state=None):
    """White Gaussian noise at signal-to-noise ratio ``snr`` dB.

    ``sigma^2 = (sum Y^2 / N) / 10^(SNR/10) / L`` for ``N`` pixels and ``L``
    bands, i.e. the mean power of ``Y`` divided by ``10^(SNR/10)``
    (the HySUPP / VCA convention). ``snr=inf`` returns a copy of ``Y``.

    Parameters
    ----------
    Y : array of shape (..., bands)
    snr : float
    random_state : None, int or Generator

    Returns
    -------
    ndarray, same shape and dtype as ``Y``
    """
    Y = _check_cube(Y, ndim=None)
    snr = check_scalar(snr, "snr") if snr != math.inf else snr
    if snr == math.inf:
        return Y
    rng = check_random_state(random_state)
    sigma = _sigma_at_snr(Y, snr)
    return (Y + sigma * rng.standard_normal(Y.shape)).astype(Y.dtype, copy=False)


def add_band_noise(Y, snr_range=(10.0, 30.0), *, bands=None, fraction=1.0, random_state=None):
    """Non-i.i.d. Gaussian noise: band ``b`` gets its own SNR drawn uniformly in ``snr_range``.

    The per-band variance follows :func:`add_awgn`'s formula with the band's
    SNR (relative to the power of the whole cube).

    Returns
    -------
    Y_noisy : ndarray
    bands : ndarray of int
        The noisy bands (``bands``, or ``round(fraction * L)`` random ones).
    """
    Y = _check_cube(Y, ndim=None)
    rng = check_random_state(random_state)
    lo, hi = (_check_snr(s) for s in snr_range)
    if lo > hi:
        raise ValueError(f"snr_range must be (low, high) with low <= high, got {tuple(snr_range)}.")
    bands = _pick_bands(Y.shape[-1], bands, fraction, rng)
    power = float(np.mean(np.square(Y, dtype=np.float64)))
    snr = rng.uniform(lo, hi, size=bands.size)
    sigma = np.sqrt(power / 10.0 ** (snr / 10.0))
    Y[..., bands] += (sigma * rng.standard_normal(Y.shape[:-1] + (bands.size,))).astype(Y.dtype)
    return Y, bands


def add_impulse_noise(Y, density=0.1, *, bands=None, fraction=0.1, random_state=None):
    """Salt-and-pepper noise: in the chosen bands a ``density`` share of pixels is set to the min or max of ``Y``.

    Returns ``(Y_noisy, bands)``.
    """
    Y = _check_cube(Y, ndim=None)
    rng = check_random_state(random_state)
    density = check_scalar(density, "density", lower=0.0, upper=1.0)
    bands = _pick_bands(Y.shape[-1], bands, fraction, rng)
    lo, hi = Y.min(), Y.max()
    for b in bands:
        band = Y[..., b]
        hit = rng.random(band.shape) < density
        band[hit] = np.where(rng.random(int(hit.sum())) < 0.5, lo, hi)
    return Y, bands


def add_stripes(Y, *, bands=None, fraction=1 / 3, column_fraction=(0.05, 0.15), strength=0.25, random_state=None):
    """Vertical stripes: in each chosen band, 5-15% of the columns get a constant offset.

    The offsets are uniform in ``[-strength, strength]`` times the band's
    mean absolute value. ``Y`` must be a cube ``(rows, cols, bands)``.

    Returns ``(Y_noisy, bands)``.
    """
    Y = _check_cube(Y, ndim=3)
    rng = check_random_state(random_state)
    strength = check_scalar(strength, "strength", lower=0.0)
    bands = _pick_bands(Y.shape[-1], bands, fraction, rng)
    for b in bands:
        cols = _pick_columns(Y.shape[1], column_fraction, rng)
        scale = float(np.mean(np.abs(Y[..., b]))) or 1.0
        Y[:, cols, b] += (strength * scale * rng.uniform(-1.0, 1.0, size=cols.size)).astype(Y.dtype)
    return Y, bands


def add_dead_lines(Y, *, bands=None, fraction=0.1, column_fraction=(0.05, 0.15), random_state=None):
    """Dead lines: in each chosen band, 5-15% of the columns are set to zero.

    ``Y`` must be a cube ``(rows, cols, bands)``. Returns ``(Y_noisy, bands)``.
    """
    Y = _check_cube(Y, ndim=3)
    rng = check_random_state(random_state)
    bands = _pick_bands(Y.shape[-1], bands, fraction, rng)
    for b in bands:
        Y[:, _pick_columns(Y.shape[1], column_fraction, rng), b] = 0.0
    return Y, bands


def add_blank_bands(Y, *, bands=None, fraction=0.1, value=0.0, random_state=None):
    """Blank (outlier) channels: every pixel of the chosen bands is set to ``value``.

    Returns ``(Y_noisy, bands)``.
    """
    Y = _check_cube(Y, ndim=None)
    rng = check_random_state(random_state)
    value = check_scalar(value, "value")
    bands = _pick_bands(Y.shape[-1], bands, fraction, rng)
    Y[..., bands] = value
    return Y, bands


def _pick_columns(n_cols, column_fraction, rng):
    lo, hi = column_fraction
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"column_fraction must be (low, high) with 0 <= low <= high <= 1, got {tuple(column_fraction)}.")
    k = max(1, int(round(rng.uniform(lo, hi) * n_cols)))
    return np.sort(rng.choice(n_cols, size=k, replace=False))


CORRUPTIONS = {
    "blank": add_blank_bands,
    "stripes": add_stripes,
    "dead_lines": add_dead_lines,
    "impulse": add_impulse_noise,
    "band_noise": add_band_noise,
}


# -- scenes -----------------------------------------------------------------------


def make_hyperspectral_scene(n_rows=64, n_cols=64, n_endmembers=4, *, n_bands=180, endmembers="synthetic",
                             classes=None, min_angle=5.0, abundances="dirichlet", concentration=1.0, purity=None,
                             n_pure_pixels=0, snr=math.inf, corruption=None, corrupted_fraction=0.1,
                             dtype=np.float64, random_state=None, **abundance_params):
    """A simulated hyperspectral cube ``Y = A E + noise`` with known endmembers and abundances.

    Parameters
    ----------
    n_rows, n_cols : int
        Spatial size.
    n_endmembers : int
        Number of endmembers ``p``.
    n_bands : int
        Number of bands for synthetic spectra (earthlib spectra have 180).
    endmembers : {"synthetic", "earthlib"} or array of shape (p, bands)
        Smooth synthetic spectra (:func:`make_synthetic_spectra`), spectra
        drawn from the earthlib library (optional dependency; ``classes``
        restricts the classes and spreads the picks over them), or given ones.
        Drawn spectra are pairwise at least ``min_angle`` degrees apart.
    abundances : {"dirichlet", "grf", "blocks"}
        Abundance model of :func:`make_abundances` (``concentration``,
        ``purity``, ``n_pure_pixels`` and ``abundance_params``, e.g.
        ``length_scale``, are passed on).
    snr : float
        Signal-to-noise ratio of the white Gaussian noise in dB
        (:func:`add_awgn`); ``inf`` for none.
    corruption : None, str or sequence of str
        Outlier channels added after the noise, among ``"blank"``,
        ``"stripes"``, ``"dead_lines"``, ``"impulse"``, ``"band_noise"``;
        each hits ``round(corrupted_fraction * bands)`` random bands.
    dtype : float32 or float64
    random_state : None, int or Generator

    Returns
    -------
    Bunch
        ``Y`` (rows, cols, bands) the observed cube; ``clean`` the noiseless
        cube ``A @ E``; ``endmembers`` (p, bands); ``abundances``
        (rows, cols, p); ``corrupted_bands`` sorted indices of the bands hit
        by ``corruption`` (empty without); ``wavelengths`` (bands,) in
        micrometres; ``names`` of the endmembers.
    """
    rng = check_random_state(random_state)
    if isinstance(endmembers, str):
        check_option(endmembers, "endmembers", ("synthetic", "earthlib"))
        if endmembers == "earthlib":
            E, wavelengths, names = _earthlib_endmembers(n_endmembers, classes, min_angle, rng)
        else:
            E = make_synthetic_spectra(n_endmembers, n_bands, min_angle=min_angle, random_state=rng)
            E = E * rng.uniform(0.5, 1.0, size=(n_endmembers, 1)) / E.max(axis=1, keepdims=True)
            wavelengths = np.linspace(0.4, 2.45, n_bands)
            names = np.asarray([f"synthetic_{i}" for i in range(n_endmembers)])
    else:
        E = np.array(check_array(endmembers, "endmembers", ndim=2), dtype=np.float64)
        if E.shape[0] != n_endmembers:
            raise ValueError(f"endmembers has {E.shape[0]} rows but n_endmembers={n_endmembers}.")
        wavelengths = np.arange(E.shape[1], dtype=np.float64)
        names = np.asarray([f"endmember_{i}" for i in range(E.shape[0])])
    A = make_abundances(n_rows, n_cols, n_endmembers, model=abundances, concentration=concentration,
                        purity=purity, n_pure_pixels=n_pure_pixels, random_state=rng, **abundance_params)
    clean = A @ E
    Y = add_awgn(clean, snr, random_state=rng)
    corrupted = np.empty(0, dtype=np.int64)
    if corruption is not None:
        kinds = (corruption,) if isinstance(corruption, str) else tuple(corruption)
        for kind in kinds:
            check_option(kind, "corruption", tuple(CORRUPTIONS))
            Y, bands = CORRUPTIONS[kind](Y, fraction=corrupted_fraction, random_state=rng)
            corrupted = np.union1d(corrupted, bands)
    return Bunch(Y=Y.astype(dtype), clean=clean.astype(dtype), endmembers=E.astype(dtype),
                 abundances=A.astype(dtype), corrupted_bands=corrupted, wavelengths=wavelengths, names=names)

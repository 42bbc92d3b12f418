"""Direct-inversion baselines of near-field MIMO radar imaging: back-projection and Kirchhoff migration."""

from ..linop import NearFieldMIMO

__all__ = ["back_projection", "kirchhoff_migration"]


def _check_operator(operator):
    if not isinstance(operator, NearFieldMIMO):
        raise TypeError(f"operator must be an optlib.linop.NearFieldMIMO, got {type(operator).__name__}.")
    return operator


def back_projection(y, operator):
    """Back-projection image ``A^H y`` (matched filter) of near-field MIMO measurements.

    ``x[n] = sum_k,t,r exp(j k (R_t + R_r)) / (4 pi R_t R_r) y[k, t, r]``: each
    measurement is spread back along its own propagation phase, without any
    amplitude compensation (the image is biased towards near voxels and has
    the array's full sidelobes).

    Parameters
    ----------
    y : array of shape ``operator.output_shape``
        Measurements (any namespace; the image is on ``y``'s device).
    operator : NearFieldMIMO

    Returns
    -------
    array of shape ``operator.input_shape``, complex
    """
    return _check_operator(operator).adjoint(y)


def _kirchhoff_tx(xp, k, dist, cos_theta):
    return dist  # undo the 1 / (4 pi R_t) spreading of the illumination (4 pi dropped: a global scale)


def _kirchhoff_rx(xp, k, dist, cos_theta):
    return 2.0 * cos_theta * (1.0 / dist - 1j * k) / dist


def kirchhoff_migration(y, operator):
    """Kirchhoff-migration image of near-field MIMO measurements (frequency domain).

    The received field is back-propagated to each voxel with the
    Rayleigh-Sommerfeld (Kirchhoff) integral over the receiving aperture,
    whose kernel is the normal derivative of the Green's function
    ``G = exp(-j k R) / (4 pi R)``, time-reversed (conjugated):
    ``-2 d/dz G* = 2 cos(theta_r) (1 / R_r - j k) exp(j k R_r) / (4 pi R_r)``,
    ``theta_r`` the angle between the receiver-to-voxel ray and the array
    normal ``+z``. The transmitter's illumination ``exp(-j k R_t) / (4 pi R_t)``
    is compensated by ``4 pi R_t exp(j k R_t)``. Summed over frequencies,
    transmitters and receivers (constant factors dropped)::

        x[n] = sum_k,t,r  2 cos(theta_r) (1 / R_r - j k) (R_t / R_r) exp(j k (R_t + R_r)) y[k, t, r].

    Compared with back-projection (weight ``1 / (4 pi R_t R_r)``), the
    ``j k`` factor is the ramp (derivative) filter of migration, which
    sharpens the range response, and ``R_t / R_r`` instead of
    ``1 / (R_t R_r)`` removes the ``1 / R^2`` bias towards near voxels; the
    obliquity ``cos(theta_r)`` weights each receiver by its projected
    aperture. Zhuge and Yarovoy (IEEE TIP 2012) give the MIMO form; Oral and
    Oktem (IEEE TCI 2024) use it as a baseline.

    Parameters
    ----------
    y : array of shape ``operator.output_shape``
        Measurements (any namespace; the image is on ``y``'s device).
    operator : NearFieldMIMO
        Its antennas define the aperture; the normal is ``+z``.

    Returns
    -------
    array of shape ``operator.input_shape``, complex (complex64 for
    single-precision ``y``)
    """
    return _check_operator(operator).backpropagate(y, _kirchhoff_tx, _kirchhoff_rx)


"""Compiled Lambert azimuthal equal-area projection (ellipsoidal), forward and inverse (numba).

The risk core projects every vertex it reads or writes between EPSG:4326 (lon/lat, storage)
and its equal-area metric CRS (EPSG:3035 or a custom ``+proj=laea``; see
:func:`minemap.risk._spatial.equal_area_crs_for`). At national scale that is ~10 million
vertices per run, and pyproj/PROJ takes ~0.2 µs per point while holding per-thread PROJ
objects that cost ~70 ms to create in each fresh worker thread. These kernels compute the
same formulas as PROJ 9.5's ``laea`` (``src/projections/laea.cpp``: oblique, equatorial and
polar aspects on the ellipsoid, authalic latitude via ``q(φ)`` = ``pj_qsfn``) wrapped in the
``unitconvert`` steps and PROJ's generic pre/post-processing (longitude reduction
``adjlon``, false easting/northing, semi-major axis), in compiled loops that release the GIL.

Accuracy (``tests/risk/test_proj.py``, against pyproj 3.7.2 / PROJ 9.5.1, on 616,615 points:
Europe/Ukraine-scale neighbourhoods, the whole globe up to the projection's edge and ~1° around
the antipode, for EPSG:3035 and custom centres in Ukraine, the southern hemisphere, on the
equator, at and near both poles and at the date line): the kernels evaluate PROJ's formulas in
PROJ's order with the same libm, and the measured max |Δ| is **0** both ways (forward in
metres, inverse in degrees: bit-identical); the tests allow 1e-6 m and 1e-9°. The inverse uses
PROJ 9.5's three-term series for the geographic latitude from the authalic latitude
(``pj_authlat``, terms to e⁶): its truncation error (the e⁸ term, up to ~1.4e-8° ≈ 1.5 mm in
latitude) is PROJ's own and the kernels reproduce it, so the forward → inverse round trip moves
a point by up to ~1.5 mm in latitude, as it does with pyproj. Later PROJ releases replace the
series with Karney's 6th-order series in n (round trip ~1e-14°); against those the inverse
would differ by up to that ~1.4e-8°, and ``_spatial``'s start-up check (1e-9°) would then
leave the inverse to pyproj.

Points the kernels do not handle — non-finite input, |lat| > 90°, |lon| > 180°, points at
or near the antipode of the centre (forward), outside the projection's disc (inverse) — are
returned as NaN: the caller transforms those few with pyproj, so errors and infinities come
out exactly as PROJ makes them.

This module imports numba, so :mod:`minemap.risk._spatial` imports it only when a transform
is first built (``import minemap`` stays light); compiled code is cached on disk.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "EQUIT",
    "N_POLE",
    "OBLIQ",
    "S_POLE",
    "laea_forward",
    "laea_inverse",
    "laea_params",
    "warm_up",
]

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")

N_POLE, S_POLE, EQUIT, OBLIQ = 0, 1, 2, 3  # PROJ's modes (the order matters: mode >= EQUIT)

_EPS10 = 1.0e-10
# forward: points whose b (1 + cos of the authalic angular distance from the centre) is below
# this are left to PROJ (within ~9 km of the antipode, where x, y grow as 1/√b); PROJ itself
# gives up below 1e-10
_B_MIN = 1.0e-6
# inverse: points with sin(c/2) = ρ / (2 R_q) above this (the same ~9 km of the disc's rim)
_RIM = 1.0 - 1.0e-7
_DEG_TO_RAD = 0.017453292519943296  # PROJ's unitconvert factor for degrees

# parameter vector layout (float64): see laea_params
(_MODE, _A, _RA, _X0, _Y0, _LAM0, _PHI0, _E, _ONE_ES, _QP, _SINB1, _COSB1, _XMF, _YMF, _DD,
 _RQ, _APA0, _APA1, _APA2, _D2R, _R2D, _NPARAM) = range(22)  # fmt: skip


def _qsfn(sinphi: float, e: float, one_es: float) -> float:
    """PROJ's ``pj_qsfn`` (q of the authalic latitude), for the set-up in Python."""
    con = e * sinphi
    return one_es * (sinphi / (1.0 - con * con) - (0.5 / e) * math.log((1.0 - con) / (1.0 + con)))


def laea_params(
    *, a: float, es: float, lat_0_deg: float, lon_0_deg: float, x_0: float, y_0: float
) -> np.ndarray:
    """The constants of PROJ's ellipsoidal ``laea`` set-up as one float64 vector.

    Parameters
    ----------
    a : semi-major axis (metres)
    es : first eccentricity squared (> 0: the spherical form is not implemented)
    lat_0_deg, lon_0_deg : the projection centre (degrees)
    x_0, y_0 : false easting and northing (metres)
    """
    if not (es > 0.0 and a > 0.0):
        raise ValueError("the laea kernels need an ellipsoid (es > 0, a > 0)")
    phi0 = lat_0_deg * _DEG_TO_RAD
    lam0 = lon_0_deg * _DEG_TO_RAD
    t = abs(phi0)
    if t > math.pi / 2 + _EPS10:
        raise ValueError("lat_0 beyond ±90°")
    if abs(t - math.pi / 2) < _EPS10:
        mode = S_POLE if phi0 < 0.0 else N_POLE
    elif abs(t) < _EPS10:
        mode = EQUIT
    else:
        mode = OBLIQ
    e = math.sqrt(es)
    one_es = 1.0 - es
    qp = _qsfn(1.0, e, one_es)
    # pj_authset: coefficients of the series for φ(β)
    apa0 = es * 0.33333333333333333333
    t2 = es * es
    apa0 += t2 * 0.17222222222222222222
    apa1 = t2 * 0.06388888888888888888
    t2 *= es
    apa0 += t2 * 0.10257936507936507937
    apa1 += t2 * 0.06640211640211640212
    apa2 = t2 * 0.01677689594356261023
    sinb1 = cosb1 = xmf = ymf = rq = 0.0
    dd = 1.0
    if mode == EQUIT:
        rq = math.sqrt(0.5 * qp)
        dd = 1.0 / rq
        xmf = 1.0
        ymf = 0.5 * qp
    elif mode == OBLIQ:
        rq = math.sqrt(0.5 * qp)
        sinphi = math.sin(phi0)
        sinb1 = _qsfn(sinphi, e, one_es) / qp
        cosb1 = math.sqrt(1.0 - sinb1 * sinb1)
        dd = math.cos(phi0) / (math.sqrt(1.0 - es * sinphi * sinphi) * rq * cosb1)
        xmf = rq
        ymf = xmf / dd
        xmf *= dd
    p = np.zeros(_NPARAM)
    p[_MODE], p[_A], p[_RA], p[_X0], p[_Y0] = mode, a, 1.0 / a, x_0, y_0
    p[_LAM0], p[_PHI0], p[_E], p[_ONE_ES], p[_QP] = lam0, phi0, e, one_es, qp
    p[_SINB1], p[_COSB1], p[_XMF], p[_YMF], p[_DD], p[_RQ] = sinb1, cosb1, xmf, ymf, dd, rq
    p[_APA0], p[_APA1], p[_APA2] = apa0, apa1, apa2
    p[_D2R], p[_R2D] = _DEG_TO_RAD, 1.0 / _DEG_TO_RAD
    return p


@_jit
def _adjlon(lam: float) -> float:
    """PROJ's ``adjlon``: longitude reduced to [-π, π] (a slight overshoot is kept)."""
    if abs(lam) < math.pi + 1e-12:
        return lam
    lam += math.pi
    lam -= 2.0 * math.pi * math.floor(lam / (2.0 * math.pi))
    return lam - math.pi


@_jit
def _forward(xy: np.ndarray, out: np.ndarray, p: np.ndarray) -> None:
    mode = int(p[_MODE])
    e, one_es, qp = p[_E], p[_ONE_ES], p[_QP]
    sinb1, cosb1, xmf, ymf = p[_SINB1], p[_COSB1], p[_XMF], p[_YMF]
    a, x0, y0, lam0, d2r = p[_A], p[_X0], p[_Y0], p[_LAM0], p[_D2R]
    half_pi = 0.5 * math.pi
    for i in range(xy.shape[0]):
        lam = xy[i, 0] * d2r
        phi = xy[i, 1] * d2r
        # NaN, inf, beyond the poles or the antimeridian: left to PROJ (the comparisons are
        # False for NaN)
        if not (abs(lam) <= math.pi and abs(phi) <= half_pi):
            out[i, 0] = np.nan
            out[i, 1] = np.nan
            continue
        lam = _adjlon(lam - lam0)
        coslam = math.cos(lam)
        sinlam = math.sin(lam)
        sinphi = math.sin(phi)
        con = e * sinphi
        q = one_es * (sinphi / (1.0 - con * con) - (0.5 / e) * math.log((1.0 - con) / (1.0 + con)))
        sinb = 0.0
        cosb = 0.0
        if mode >= EQUIT:  # EQUIT or OBLIQ
            sinb = q / qp
            cosb2 = 1.0 - sinb * sinb
            cosb = math.sqrt(cosb2) if cosb2 > 0.0 else 0.0
        if mode == OBLIQ:
            b = 1.0 + sinb1 * sinb + cosb1 * cosb * coslam
        elif mode == EQUIT:
            b = 1.0 + cosb * coslam
        elif mode == N_POLE:
            b = half_pi + phi
            q = qp - q
        else:
            b = phi - half_pi
            q = qp + q
        if abs(b) < _B_MIN:
            out[i, 0] = np.nan
            out[i, 1] = np.nan
            continue
        if mode == OBLIQ:
            b = math.sqrt(2.0 / b)
            x = xmf * b * cosb * sinlam
            y = ymf * b * (cosb1 * sinb - sinb1 * cosb * coslam)
        elif mode == EQUIT:
            b = math.sqrt(2.0 / (1.0 + cosb * coslam))
            y = b * sinb * ymf
            x = xmf * b * cosb * sinlam
        elif q >= 1e-15:
            b = math.sqrt(q)
            x = b * sinlam
            y = coslam * (b if mode == S_POLE else -b)
        else:
            x = 0.0
            y = 0.0
        out[i, 0] = a * x + x0
        out[i, 1] = a * y + y0


@_jit
def _inverse(xy: np.ndarray, out: np.ndarray, p: np.ndarray) -> None:
    mode = int(p[_MODE])
    qp, sinb1, cosb1, dd, rq = p[_QP], p[_SINB1], p[_COSB1], p[_DD], p[_RQ]
    apa0, apa1, apa2 = p[_APA0], p[_APA1], p[_APA2]
    ra, x0, y0, lam0, phi0, r2d = p[_RA], p[_X0], p[_Y0], p[_LAM0], p[_PHI0], p[_R2D]
    for i in range(xy.shape[0]):
        x = (xy[i, 0] - x0) * ra
        y = (xy[i, 1] - y0) * ra
        if not (abs(x) < np.inf and abs(y) < np.inf):  # NaN or inf: left to PROJ
            out[i, 0] = np.nan
            out[i, 1] = np.nan
            continue
        centre = False
        ab = 0.0
        if mode >= EQUIT:  # EQUIT or OBLIQ
            x /= dd
            y *= dd
            rho = math.hypot(x, y)
            if rho < _EPS10:
                centre = True
            else:
                s = 0.5 * rho / rq
                if not s <= _RIM:  # at or beyond the rim of the disc: left to PROJ
                    out[i, 0] = np.nan
                    out[i, 1] = np.nan
                    continue
                sce = 2.0 * math.asin(s)
                cce = math.cos(sce)
                sce = math.sin(sce)
                x *= sce
                if mode == OBLIQ:
                    ab = cce * sinb1 + y * sce * cosb1 / rho
                    y = rho * cosb1 * cce - y * sinb1 * sce
                else:
                    ab = y * sce / rho
                    y = rho * cce
        else:
            if mode == N_POLE:
                y = -y
            q = x * x + y * y
            if q == 0.0:
                centre = True
            else:
                ab = 1.0 - q / qp
                if mode == S_POLE:
                    ab = -ab
                if not abs(ab) <= _RIM:
                    out[i, 0] = np.nan
                    out[i, 1] = np.nan
                    continue
        if centre:
            lam = 0.0
            phi = phi0
        else:
            lam = math.atan2(x, y)
            beta = math.asin(ab)
            t = beta + beta  # pj_authlat: three-term series for φ(β)
            phi = beta + apa0 * math.sin(t) + apa1 * math.sin(t + t) + apa2 * math.sin(t + t + t)
        lam = _adjlon(lam + lam0)
        out[i, 0] = lam * r2d
        out[i, 1] = phi * r2d


def laea_forward(
    lonlat: np.ndarray, params: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """(n, 2) lon/lat degrees → (n, 2) projected metres (into ``out`` if given: a C-contiguous
    float64 (n, 2) array); NaN rows for the points left to PROJ."""
    xy = np.ascontiguousarray(lonlat, dtype=np.float64).reshape(-1, 2)
    if out is None:
        out = np.empty_like(xy)
    _forward(xy, out, params)
    return out


def laea_inverse(xy: np.ndarray, params: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) projected metres → (n, 2) lon/lat degrees (into ``out`` if given: a
    C-contiguous float64 (n, 2) array); NaN rows for the points left to PROJ."""
    xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
    if out is None:
        out = np.empty_like(xy)
    _inverse(xy, out, params)
    return out


def warm_up() -> None:
    """Load (or, on a machine's first run, compile) the kernels, so that a later call does
    not pay for it."""
    p = laea_params(a=6378137.0, es=0.00669438, lat_0_deg=52.0, lon_0_deg=10.0, x_0=0.0, y_0=0.0)
    laea_inverse(laea_forward(np.array([[10.0, 52.0]]), p), p)

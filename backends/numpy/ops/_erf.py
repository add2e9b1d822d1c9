"""erf for NumPy arrays, vectorized, to double precision (NumPy has none; math.erf is one number at a time).

The range of |x| is cut at the integers and each piece is one polynomial:

    |x| < 1          erf(x)  = x · P0(x²)
    k <= |x| < k+1   erf(|x|) = 1 - exp(-x²) · Pk(|x| - k - 1/2),  k = 1..5
    |x| >= 6         erf(|x|) = 1 (erfc(6) = 2e-17 is below half an ulp of 1)

and erf(-x) = -erf(x). P0 fits erf(x)/x, which is smooth in x²; Pk fits erfc(x)·exp(x²),
which varies slowly where erfc itself falls by orders of magnitude. The coefficients are
Chebyshev interpolants fitted offline with mpmath at 40 digits and rewritten as ordinary
polynomials; _erf_fit.py is the script (it prints these tables). Error against math.erf:
below 1e-15 relative everywhere (tests/sequences/test_erf.py checks a dense grid).
P0 runs over every element of a cache-sized block; the elements past 1 are then
overwritten piece by piece.
"""
from __future__ import annotations

import numpy as np

SMALL = (
    1.1283791670955126,
    -0.37612638903183543,
    0.11283791670945006,
    -0.02686617064323777,
    0.0052239776071164225,
    -0.0008548325975389692,
    0.00012055294904839707,
    -1.492473690741966e-05,
    1.6447424703317362e-06,
    -1.6208483801871705e-07,
    1.3720064546777686e-08,
    -7.795898827002142e-10,
)
PIECES = (
    (
        0.3215854164543175,
        -0.16362291773256007,
        0.07615103985548055,
        -0.03293090529956347,
        0.013377340952802835,
        -0.005145957547915988,
        0.0018861348854630824,
        -0.0006619300686179933,
        0.00022330981211640024,
        -7.265888759557882e-05,
        2.286543658874603e-05,
        -6.975285854904505e-06,
        2.061689065129881e-06,
        -5.946998373950516e-07,
        1.8038197652346406e-07,
        -4.932844202000261e-08,
    ),
    (
        0.2108063640611436,
        -0.07434734678978157,
        0.024937997086653816,
        -0.008001569383568085,
        0.002467036816047024,
        -0.0007335908902689551,
        0.00021101981323885205,
        -5.886960602751192e-05,
        1.596200428941195e-05,
        -4.210038332957289e-06,
        1.0842190352359627e-06,
        -2.8645678293951064e-07,
        7.032442439019579e-08,
    ),
    (
        0.1552936556088943,
        -0.04132357783344881,
        0.010661133192551223,
        -0.0026730744239466834,
        0.0006526863236287225,
        -0.00015546926936251454,
        3.618177706974678e-05,
        -8.234784937206129e-06,
        1.8365248448927285e-06,
        -4.144704624764269e-07,
        8.885652309464544e-08,
    ),
    (
        0.12248480426449534,
        -0.026015928629213383,
        0.005413126630595456,
        -0.0011045763377166365,
        0.00022124256881209068,
        -4.354641612561131e-05,
        8.581564463074997e-06,
        -1.633638509199321e-06,
    ),
    (
        0.10096221839949909,
        -0.017794470684243353,
        0.003090964113416089,
        -0.0005341601932403583,
        9.025442368662949e-05,
    ),
)


BLOCK = 1 << 15  # elements evaluated together: 256 KB of doubles stay in cache through the ~30 passes


def _polynomial(t: np.ndarray, coeffs) -> np.ndarray:
    """Σ coeffs[i] t^i by Horner's rule (in place on one fresh array)."""
    out = np.full_like(t, coeffs[-1])
    for c in coeffs[-2::-1]:
        out *= t
        out += c
    return out


def erf_block(x: np.ndarray, out: np.ndarray, small=SMALL, pieces=PIECES) -> None:
    """out[:] = erf(x) for one block of at most BLOCK elements (gelu fuses its own maths around it).

    Most inputs of gelu lie in |x| <= 1, so P0 runs over every element (no gather; x clipped to
    [-1, 1] keeps it finite where it is overwritten) and the others are overwritten piece by piece.
    nan stays in P0's piece and comes out nan.
    """
    s = x.astype(np.float64)
    clipped = np.clip(s, -1.0, 1.0)
    np.multiply(_polynomial(clipped * clipped, small), s, out=out)
    a = np.abs(s)
    outside = np.flatnonzero(a > 1.0)
    if outside.size:
        t = a[outside]
        piece = np.minimum(t, len(pieces) + 1).astype(np.intp)   # k: k <= |x| < k+1; the last: |x| >= 6
        value = np.ones_like(t)
        for k, coeffs in enumerate(pieces, start=1):
            at = np.flatnonzero(piece == k)
            if at.size:
                tk = t[at]
                value[at] = 1.0 - np.exp(-tk * tk) * _polynomial(tk - (k + 0.5), coeffs)
        out[outside] = np.copysign(value, s[outside])


def erf_with(x, small, pieces, dtype=None) -> np.ndarray:
    """erf(x) from the given tables (the fitting script evaluates its candidates through this)."""
    x = np.asarray(x)
    if dtype is None:
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    flat = x.ravel()
    out = np.empty(flat.size, np.float64)
    for lo in range(0, flat.size, BLOCK):
        erf_block(flat[lo:lo + BLOCK], out[lo:lo + BLOCK], small, pieces)
    return out.reshape(x.shape).astype(dtype, copy=False)


def erf(x, dtype=None) -> np.ndarray:
    """The error function of every element of x, as `dtype` (default: a float array's own dtype, else float64)."""
    return erf_with(x, SMALL, PIECES, dtype)

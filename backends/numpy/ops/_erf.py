"""erf for NumPy arrays, vectorized, to double precision (NumPy has none; math.erf is one number at a time).

The range of |x| is cut in four pieces, each one polynomial:

    |x| <= 1         erf(x)  = x · P0(x²)
    1 < |x| <= 3     erf(|x|) = 1 - exp(-x²) · NEAR(|x| - 2)
    3 < |x| <= 6     erf(|x|) = 1 - exp(-x²) · FAR(|x| - 4.5)
    |x| > 6          erf(|x|) = 1 (erfc(6) = 2e-17 is below half an ulp of 1: FAR at 6 gives it)

and erf(-x) = -erf(x). P0 fits erf(x)/x, which is smooth in x²; Pk fits erfc(x)·exp(x²),
which varies slowly where erfc itself falls by orders of magnitude. The coefficients are
Chebyshev interpolants fitted offline with mpmath at 40 digits and rewritten as ordinary
polynomials; _erf_fit.py is the script (it prints these tables). Error against math.erf:
below 1e-15 relative everywhere (tests/sequences/test_erf.py checks a dense grid).
Each piece runs over every element left to it (clipped into its range), the next piece
overwrites the few past its end: no sorting by piece, few selections.
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
NEAR = (
    0.25539567631050575,
    -0.1067964618534896,
    0.041802752603528726,
    -0.01546063776429149,
    0.005440738537400482,
    -0.0018316642757225372,
    0.0005924699962484308,
    -0.00018477836736927953,
    5.572830931415907e-05,
    -1.6293717931091297e-05,
    4.628197386307233e-06,
    -1.2795264857047954e-06,
    3.4480570326644777e-07,
    -9.072901538050072e-08,
    2.3408246602459806e-08,
    -5.890296320663701e-09,
    1.3914126752786892e-09,
    -3.3746485737542734e-10,
    1.0885208435466582e-10,
    -2.5142267291939364e-11,
)
FAR = (
    0.12248480427384142,
    -0.026015928631509557,
    0.005413125434707972,
    -0.0011045761073522255,
    0.00022126645294331222,
    -4.355087367683846e-05,
    8.429249578396898e-06,
    -1.6054022457490172e-06,
    3.011104218980323e-07,
    -5.5752452473974055e-08,
    1.0156676019487004e-08,
    -1.7644383401741573e-09,
    3.134733985388136e-10,
    -7.296388332380785e-11,
    1.2544448035973986e-11,
)

BLOCK = 1 << 15  # elements evaluated together: 256 KB of doubles stay in cache through the ~30 passes


def _polynomial(t: np.ndarray, coeffs) -> np.ndarray:
    """Σ coeffs[i] t^i by Horner's rule (in place on one fresh array)."""
    out = t * coeffs[-1]
    out += coeffs[-2]
    for c in coeffs[-3::-1]:
        out *= t
        out += c
    return out


def _erfc_times_exp(t: np.ndarray, coeffs, centre: float) -> np.ndarray:
    """1 - exp(-t²) · P(t - centre): erf(t) on an outer piece, t > 0."""
    value = np.square(t)
    np.negative(value, out=value)
    np.exp(value, out=value)
    value *= _polynomial(t - centre, coeffs)
    np.subtract(1.0, value, out=value)
    return value


def erf_block(x: np.ndarray, out: np.ndarray, small=None, near=None, far=None) -> None:
    """out[:] = erf(x) for one block of at most BLOCK elements (gelu fuses its own maths around it).

    Most inputs of gelu lie in |x| <= 1: P0 runs over every element (x clipped to [-1, 1] keeps
    it finite where it is overwritten), NEAR over every |x| > 1 (clipped to 3), FAR over every
    |x| > 3 (clipped to 6). nan stays in P0's piece and comes out nan.
    """
    small, near, far = small or SMALL, near or NEAR, far or FAR
    s = x.astype(np.float64)
    clipped = np.clip(s, -1.0, 1.0)
    np.multiply(_polynomial(clipped * clipped, small), s, out=out)
    a = np.abs(s)
    outside = np.flatnonzero(a > 1.0)
    if outside.size == 0:
        return
    t = a[outside]
    value = _erfc_times_exp(np.minimum(t, 3.0), near, 2.0)
    beyond = np.flatnonzero(t > 3.0)
    if beyond.size:
        value[beyond] = _erfc_times_exp(np.minimum(t[beyond], 6.0), far, 4.5)
    out[outside] = np.copysign(value, s[outside])


def erf_with(x, small, near, far, dtype=None) -> np.ndarray:
    """erf(x) from the given tables (the fitting script evaluates its candidates through this)."""
    x = np.asarray(x)
    if dtype is None:
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    flat = x.ravel()
    out = np.empty(flat.size, np.float64)
    for lo in range(0, flat.size, BLOCK):
        erf_block(flat[lo:lo + BLOCK], out[lo:lo + BLOCK], small, near, far)
    return out.reshape(x.shape).astype(dtype, copy=False)


def erf(x, dtype=None) -> np.ndarray:
    """The error function of every element of x, as `dtype` (default: a float array's own dtype, else float64)."""
    return erf_with(x, SMALL, NEAR, FAR, dtype)

"""How the coefficient tables of _erf.py were made (run offline; needs mpmath, which torch installs).

    python -m specc.backends.numpy.ops._erf_fit > /tmp/tables.py

Each piece is a Chebyshev interpolant of degree n (n + 1 Chebyshev points of the first
kind, values from mpmath at 40 digits), rewritten exactly as an ordinary polynomial in the
piece's local variable and rounded to double:

    |x| <= 1         erf(x) / x            as a polynomial in u = x²
    1 < |x| <= 3     erfc(x) · exp(x²)     as a polynomial in t = |x| - 2      (NEAR)
    3 < |x| <= 6     erfc(x) · exp(x²)     as a polynomial in t = |x| - 4.5    (FAR)

The degree is the smallest whose dropped Chebyshev terms add up to < 1e-17 of the value
erf will have there (erfc(x)·exp(x²) is weighed by exp(-a²) at the piece's start a, its
share of erf), so the rounding of the evaluation, not the fit, limits the accuracy. It
prints the tables and the largest relative error against mpmath on a dense grid,
evaluated as _erf.py does.
"""
from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 40
TOLERANCE = mp.mpf("1e-17")


def chebyshev(f, a, b, n: int) -> list:
    """Coefficients of the degree-n Chebyshev interpolant of f on [a, b] (in s = (2x - a - b) / (b - a))."""
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / (n + 1)) for k in range(n + 1)]
    values = [f((b - a) / 2 * s + (a + b) / 2) for s in nodes]
    coeffs = [2 * mp.fsum(v * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / (n + 1)) for k, v in enumerate(values)) / (n + 1)
              for j in range(n + 1)]
    coeffs[0] /= 2
    return coeffs


def fit_degree(f, a, b, scale) -> int:
    """The smallest degree whose dropped terms (of a degree n + 8 interpolant) sum below TOLERANCE * scale."""
    for n in range(2, 40):
        tail = chebyshev(f, a, b, n + 8)[n + 1:]
        if mp.fsum(abs(c) for c in tail) < TOLERANCE * scale:
            return n
    raise ValueError("no degree below 40 fits")


def monomial(coeffs, a, b, origin) -> list:
    """Σ c_j T_j(s), s = (2x - a - b) / (b - a), as Σ m_i (x - origin)^i (exactly, in mpmath)."""
    # T_j as polynomials in s (lowest power first), then s = alpha (x - origin) + beta
    t_prev, t_cur = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]
    basis = [t_prev, t_cur]
    for _ in range(2, len(coeffs)):
        nxt = [mp.mpf(0)] + [2 * c for c in t_cur]
        for i, c in enumerate(t_prev):
            nxt[i] -= c
        t_prev, t_cur = t_cur, nxt
        basis.append(t_cur)
    in_s = [mp.fsum(coeffs[j] * (basis[j][i] if i < len(basis[j]) else 0) for j in range(len(coeffs)))
            for i in range(len(coeffs))]
    alpha, beta = 2 / (b - a), (2 * origin - a - b) / (b - a)
    out = [mp.mpf(0)] * len(in_s)
    for i, c in enumerate(in_s):  # c (alpha t + beta)^i, binomially
        for r in range(i + 1):
            out[r] += c * mp.binomial(i, r) * alpha ** r * beta ** (i - r)
    return out


def erf_over_x(u):
    return 2 / mp.sqrt(mp.pi) if u == 0 else mp.erf(mp.sqrt(u)) / mp.sqrt(u)


def erfcx(x):
    return mp.erfc(x) * mp.exp(x * x)


def outer_piece(a, b) -> list[float]:
    n = fit_degree(erfcx, a, b, mp.exp(mp.mpf(a) ** 2))
    return [float(c) for c in monomial(chebyshev(erfcx, a, b, n), a, b, (mp.mpf(a) + b) / 2)]


def tables() -> tuple[list[float], list[float], list[float]]:
    n = fit_degree(erf_over_x, 0, 1, mp.mpf("0.84"))
    small = [float(c) for c in monomial(chebyshev(erf_over_x, 0, 1, n), 0, 1, 0)]
    return small, outer_piece(1, 3), outer_piece(3, 6)


def main() -> None:
    from . import _erf

    tables_ = dict(zip(("SMALL", "NEAR", "FAR"), tables()))
    for name, coeffs in tables_.items():
        print(f"{name} = (" + "".join(f"\n    {c!r}," for c in coeffs) + "\n)")
    grid = np.concatenate([np.linspace(0, 6.5, 200001), np.geomspace(1e-300, 1, 2001)])
    got = _erf.erf_with(grid, tables_["SMALL"], tables_["NEAR"], tables_["FAR"])
    want = np.array([float(mp.erf(mp.mpf(float(g)))) for g in grid])
    print(f"# max relative error on {grid.size} points: {np.max(np.abs(got - want) / np.maximum(want, 1e-300)):.3g}")


if __name__ == "__main__":
    main()

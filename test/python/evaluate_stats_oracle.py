"""Reference values for test/unit/engine/evaluate/stats.test.ts, in exact arithmetic.

Run: /usr/bin/python3 test/python/evaluate_stats_oracle.py
No scipy needed: Fisher and McNemar tails are summed as Fractions, Wilson from its closed form.
Published anchors: Newcombe (1998) Stat. Med. 17:857-872, Table II (Wilson, 4 decimals);
R fisher.test help page (TeaTasting 0.4857 two-sided; Convictions 0.0005367 two-sided, 0.0004652 'less').
"""
from fractions import Fraction as F
from math import comb, sqrt

Z95 = 1.959963984540054


def wilson(x, n, z=Z95):
    p = x / n
    d = 1 + z * z / n
    c = p + z * z / (2 * n)
    h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (c - h) / d), min(1.0, (c + h) / d)


def fisher(a, b, c, d):
    """Two-sided (tables no more probable than observed), 'less' P(X<=a), 'greater' P(X>=a)."""
    r1, c1, n = a + b, a + c, a + b + c + d
    lo, hi = max(0, c1 - (n - r1)), min(r1, c1)
    pr = {k: F(comb(r1, k) * comb(n - r1, c1 - k), comb(n, c1)) for k in range(lo, hi + 1)}
    two = sum(v for v in pr.values() if v <= pr[a])
    less = sum(v for k, v in pr.items() if k <= a)
    greater = sum(v for k, v in pr.items() if k >= a)
    return two, less, greater


def mcnemar(b, c):
    n = b + c
    if n == 0:
        return F(1)
    return min(F(1), 2 * sum(F(comb(n, i), 2 ** n) for i in range(min(b, c) + 1)))


if __name__ == "__main__":
    for x, n in [(81, 263), (15, 148), (0, 20), (1, 29), (20, 20), (19, 20), (10, 20)]:
        lo, hi = wilson(x, n)
        print(f"wilson {x}/{n}: {lo:.10f} {hi:.10f}")
    for t in [(3, 1, 1, 3), (4, 0, 0, 4), (2, 15, 10, 3), (20, 0, 10, 10), (15, 5, 5, 15)]:
        two, less, greater = fisher(*t)
        print(f"fisher {t}: two-sided {two} = {float(two)!r}, less {float(less)!r}, greater {float(greater)!r}")
    for b, c in [(1, 8), (2, 9), (0, 5), (3, 10), (10, 0), (5, 5)]:
        p = mcnemar(b, c)
        print(f"mcnemar b={b} c={c}: {p} = {float(p)!r}")

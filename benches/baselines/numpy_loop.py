#!/usr/bin/env python3
"""NumPy baseline for `optsde bench`: the suite's optimizer/SDE loops in float32.

Same problem and parameters as the optsde bench suite (src/bench/suite.rs): x0 = 0, Gaussian
noise sigma = 1, eta = 1e-3, one Euler-Maruyama substep per optimizer step (dt = eta); Adam:
beta1 = 0.9, beta2 = 0.999, eps = 1e-8, no weight decay; the distributed models with N = 4
agents; dcsgd with the rand-k compressor, k = 4 (a uniform k-subset of the d coordinates scaled
by d/k, for every agent independently, drawn by selection sampling).

The landscape f comes as JSON in --landscape (optsde writes it from the entry's experiment,
src/bench/baselines.rs; the default is the suite's quadratic, {"kind": "quadratic", "h": 1}):

* quadratic    f = 1/2 h sum_i x_i^2                        grad = h x
* dense        f = 1/2 (x - c)^T H (x - c), "h": H row-major (d*d numbers), "c": c (d numbers);
               grad = H (x - c)
* double-well  f = a (x^2 - 1)^2 + b x (d = 1)                grad = 4 a x (x^2 - 1) + b
* rosenbrock   f = sum_{i<d-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2 (d >= 2);
               grad_i = -4 b x_i (x_{i+1} - x_i^2) - 2 (a - x_i)  [i < d-1]
                        + 2 b (x_i - x_{i-1}^2)                   [i >= 1]
* regression   one-pass least squares (docs/regression.md, optsde's `linear-regression`):
               "k": K's diagonal (d numbers), "target": x* (d numbers), "sigma": the label
               noise's standard deviation, "batch": B data points per step. Data a ~ N(0, diag k),
               labels y = a^T x* + eps, eps ~ N(0, sigma^2). f is the excess risk
               f = 1/2 sum_i k_i r_i^2 with r = x - x*, grad = k r (the population gradient).
               Only the models that sample data (below: signsgd, sgd-sde) run on it.
A "formula" key, when present, is the formula optsde runs (the suite's text, kept for the
record); the gradients here are written out by hand from the parameters.

The models, with g = grad f(x):

* signsgd      x <- x - eta sign(g + sigma xi)  (sign(0) = 0)
* signsgd-sde  x <- x - dt e + sqrt(eta dt) sqrt(1 - e^2) xi,  e = erf(g / (sqrt(2) sigma))
* sgd-sde      x <- x - dt g + sqrt(eta dt) sigma xi
* adam         x <- x - eta (m / b1) / (sqrt(v / b2) + eps) with gg = g + sigma xi,
               m <- m + (1 - beta1)(gg - m), v <- v + (1 - beta2)(gg^2 - v) first,
               b_i = 1 - beta_i^(k+1) at step k = 0, 1, ...
* adam-sde     P1's SDE as optsde integrates it (src/model/adaptive.rs): V first, then X with
               P(V_{n+1}) and M_n, then M; bias corrections sqrt(iota2)/iota1 with
               iota_i = 1 - exp(-rho_i dt n) at substep n = 1, 2, ...; correction = "consistent"
               (the eta rho1 drift term and its noise companion, driven by the same xi as M)
* dsignsgd     x <- x - eta (1/N) sum_a sign(g + sigma xi_a)
* dcsgd        x <- x - eta (1/N) sum_a C_a(g + sigma xi_a), C_a rand-k

On the regression landscape the gradient's noise is the data's (optsde's data stage,
src/cpu/data.rs), with r = x - x*, per step and path:

* signsgd      per data point b = 1..B: d normals z (a_i = sqrt(k_i) z_i), then the label's normal
               z_e (eps = sigma z_e); g = (1/B) sum_b a_b (a_b^T r - eps_b);
               x <- x - eta sign(g), no added noise: B (d + 1) normals and O(B d) work per step
* sgd-sde      the exact state-dependent diffusion: z' first, then d normals z;
               x <- x - dt k r + sqrt(eta dt / B) (sqrt(r^T K r + sigma^2) sqrt(k_i) z_i + (k r)_i z')
               (d + 1 normals and O(d) work per step)

Statistics are those optsde reports: the loss f(x) averaged over paths and over the samples at
steps k = start, start + 10, ..., <= steps with start = steps // 2 (`stationary_loss`, with a
standard error from the spread of per-path time averages over batches of 256 paths), and the
mean loss after the last step (`final_loss_mean`). The random numbers come from NumPy's PCG64
generator, not optsde's Threefry streams, so the two agree in law only: compare them with the
z-score the bench prints.

Timing: a warm-up (a few steps on one chunk, excluded) and then the whole loop over every chunk
(`seconds`); `path_steps_per_second` = paths * steps / seconds (as `optsde run` counts) and
`path_coordinate_steps_per_second` = paths * dim * steps / seconds. Paths are processed in
chunks of at most 2^22 numbers per array, so memory stays bounded for any ensemble size.

Usage: numpy_loop.py --model signsgd-sde --dim 1 --paths 1048576 --steps 1000 --seed 1
           [--landscape JSON]
Prints one JSON line. With --evaluate POINTS (a JSON list of points, each d numbers) it prints
the landscape's loss and gradient at those points instead ({"loss": [...], "grad": [[...]]}),
so that a test can check them against optsde's formula.
"""

import argparse
import json
import math
import sys
import time

import numpy as np

ETA = 1e-3
SIGMA = 1.0
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
AGENTS = 4
RANDK = 4
EVERY = 10
BATCH = 256
MODELS = ("signsgd", "signsgd-sde", "sgd-sde", "adam", "adam-sde", "dsignsgd", "dcsgd")
LANDSCAPES = ("quadratic", "dense", "double-well", "rosenbrock", "regression")
# The models that run on the regression landscape (they sample data; the others would need
# optsde's data stage for their gradient).
DATA_MODELS = ("signsgd", "sgd-sde")
DEFAULT_LANDSCAPE = '{"kind": "quadratic", "h": 1.0}'
F32 = np.float32

try:  # erf in C when SciPy is there; otherwise a float32-accurate rational approximation.
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - depends on the environment
    _erf = None


def erf(z):
    if _erf is not None:
        return _erf(z)
    # Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, below float32 resolution of erf near 1).
    a = np.abs(z)
    t = F32(1.0) / (F32(1.0) + F32(0.3275911) * a)
    poly = t * (F32(0.254829592) + t * (F32(-0.284496736) + t * (F32(1.421413741)
                + t * (F32(-1.453152027) + t * F32(1.061405429)))))
    return np.sign(z) * (F32(1.0) - poly * np.exp(-a * a))


def randk_mask(u):
    """A uniform RANDK-subset of the last axis from uniforms `u` by selection sampling (Knuth's
    Algorithm S, as optsde's kernel): coordinate i is kept with probability
    (k - kept) / (d - i), so exactly k are kept."""
    d = u.shape[-1]
    kept = np.zeros(u.shape[:-1], F32)
    keep = np.empty(u.shape, bool)
    for i in range(d):
        keep[..., i] = u[..., i] * F32(d - i) < F32(RANDK) - kept
        kept += keep[..., i]
    return keep


def landscape(spec, dim):
    """(loss, grad) of the --landscape `spec` in dimension `dim`, float32: loss(x) has shape (n,)
    and grad(x) shape (n, d) for x of shape (n, d). Raises ValueError on a bad spec."""
    kind = spec.get("kind")
    if kind == "quadratic":
        h = float(spec["h"])
        return (lambda x: F32(0.5 * h) * np.einsum("nd,nd->n", x, x)), (lambda x: F32(h) * x)
    if kind == "dense":
        hm, c = np.asarray(spec["h"], np.float64), np.asarray(spec["c"], np.float64)
        if hm.size != dim * dim or c.size != dim:
            raise ValueError(f"dense: {hm.size} entries of H and {c.size} of c, expected {dim * dim} and {dim}")
        ht, c = np.ascontiguousarray(hm.reshape(dim, dim).T.astype(F32)), c.astype(F32)

        def dense_loss(x):
            y = x - c
            return F32(0.5) * np.einsum("nd,nd->n", y, y @ ht)

        return dense_loss, (lambda x: (x - c) @ ht)
    if kind == "double-well":
        if dim != 1:
            raise ValueError(f"double-well: d = {dim}, it is 1-D")
        a, b = F32(spec["a"]), F32(spec["b"])
        four_a = F32(4.0 * float(spec["a"]))

        def dw_loss(x):
            u = x[:, 0] * x[:, 0] - F32(1.0)
            return a * u * u + b * x[:, 0]

        return dw_loss, (lambda x: four_a * x * (x * x - F32(1.0)) + b)
    if kind == "rosenbrock":
        if dim < 2:
            raise ValueError(f"rosenbrock: d = {dim}, it needs d >= 2")
        a, b = F32(spec["a"]), F32(spec["b"])
        two_b, four_b = F32(2.0 * float(spec["b"])), F32(4.0 * float(spec["b"]))

        def rb_loss(x):
            lo, hi = x[:, :-1], x[:, 1:]
            r, s = hi - lo * lo, a - lo
            return (b * r * r + s * s).sum(axis=1, dtype=F32)

        def rb_grad(x):
            lo, hi = x[:, :-1], x[:, 1:]
            r = hi - lo * lo
            g = np.zeros_like(x)
            g[:, :-1] = -four_b * lo * r - F32(2.0) * (a - lo)
            g[:, 1:] += two_b * r
            return g

        return rb_loss, rb_grad
    if kind == "regression":
        k, c = regression_params(spec, dim)[:2]

        def reg_loss(x):
            r = x - c
            return F32(0.5) * np.einsum("nd,nd->n", r * k, r)

        return reg_loss, (lambda x: k * (x - c))
    raise ValueError(f"unknown landscape kind {kind!r}; known: {', '.join(LANDSCAPES)}")


def regression_params(spec, dim):
    """The regression landscape's (k, x*, sqrt(k), sigma, B) in float32 (sigma and B as Python
    numbers); None for the other kinds. Raises ValueError on a bad spec."""
    if spec.get("kind") != "regression":
        return None
    k, c = np.asarray(spec["k"], np.float64), np.asarray(spec["target"], np.float64)
    sigma, batch = float(spec["sigma"]), int(spec["batch"])
    if k.size != dim or c.size != dim:
        raise ValueError(f"regression: {k.size} entries of k and {c.size} of target, expected {dim} each")
    if (k <= 0).any() or sigma < 0 or batch < 1:
        raise ValueError("regression: k must be > 0, sigma >= 0 and batch >= 1")
    # sqrt(k) rounded from float64, as optsde uploads it.
    return k.astype(F32), c.astype(F32), np.sqrt(k).astype(F32), sigma, batch


def data_gradient(x, data, rng):
    """One sampled gradient per path on the regression landscape: per data point d normals
    (a = sqrt(k) z), then the label's normal (eps = sigma z_e); u = a^T r - eps; the batch mean
    of a u."""
    _, c, sk, sigma, batch = data
    n, d = x.shape
    r = x - c
    g = np.zeros_like(x)
    for _ in range(batch):
        w = rng.standard_normal((n, d + 1), dtype=F32)
        a = sk * w[:, :d]
        u = np.einsum("nd,nd->n", a, r) - F32(sigma) * w[:, d]
        g += a * u[:, None]
    return g if batch == 1 else g * F32(1.0 / batch)


def simulate(model, dim, n, steps, rng, start, stat_sum, final_out, loss, grad, data=None):
    """Run `n` paths for `steps` steps; add each path's stationary-sample sum into `stat_sum`
    (shape (n,), float64) and write the final loss into `final_out`. `data`: the regression
    landscape's parameters (`regression_params`), None for the others."""
    x = np.zeros((n, dim), F32)
    m = np.zeros((n, dim), F32)
    v = np.zeros((n, dim), F32)
    eta, dt = F32(ETA), F32(ETA)
    sq = F32(math.sqrt(ETA * ETA))  # sqrt(eta dt)
    noise = F32(math.sqrt(ETA * ETA) * SIGMA)
    inv = F32(1.0 / (math.sqrt(2.0) * SIGMA))
    om1, om2 = 1.0 - BETA1, 1.0 - BETA2
    # adam-sde coefficients (src/model/adaptive.rs, refine = 1).
    p1 = F32(om1 / ETA * noise)
    p2, p3, p4, p6, p7 = F32(om1), F32(om2), F32(EPS), F32(SIGMA * SIGMA), F32(om1)
    p8 = F32(om1 * noise)
    scale = F32(dim / RANDK)
    inv_n = F32(1.0 / AGENTS)
    if data is not None:
        c, sk, sigma2 = data[1], data[2], F32(data[3] * data[3])
        noise_data = F32(math.sqrt(ETA * ETA / data[4]))  # sqrt(eta dt / B)
    for k in range(steps + 1):
        if k >= start and (k - start) % EVERY == 0:
            stat_sum += loss(x)
        if k == steps:
            break
        if model == "signsgd" and data is not None:
            x -= eta * np.sign(data_gradient(x, data, rng))
            continue
        g = grad(x)
        if model == "sgd-sde" and data is not None:
            w = rng.standard_normal((n, dim + 1), dtype=F32)
            s = np.sqrt(np.einsum("nd,nd->n", g, x - c) + sigma2)
            xi = s[:, None] * (sk * w[:, 1:]) + g * w[:, :1]
            x += -dt * g + noise_data * xi
        elif model == "signsgd":
            x -= eta * np.sign(g + F32(SIGMA) * rng.standard_normal(x.shape, dtype=F32))
        elif model == "signsgd-sde":
            e = erf(g * inv).astype(F32)
            xi = rng.standard_normal(x.shape, dtype=F32)
            x -= dt * e - sq * np.sqrt(np.maximum(F32(1.0) - e * e, F32(0.0))) * xi
        elif model == "sgd-sde":
            x += -dt * g + noise * rng.standard_normal(x.shape, dtype=F32)
        elif model == "adam":
            # 1/b_i = 1/(1 - beta_i^(k+1)), in float64 (optsde's f32 values differ in the last bits).
            tf0 = F32(-1.0 / math.expm1((k + 1) * math.log(BETA1)))
            tf1 = F32(-1.0 / math.expm1((k + 1) * math.log(BETA2)))
            gg = g + F32(SIGMA) * rng.standard_normal(x.shape, dtype=F32)
            m += p2 * (gg - m)
            v += p3 * (gg * gg - v)
            x -= eta * (m * tf0) / (np.sqrt(np.maximum(v, F32(0.0)) * tf1) + p4)
        elif model == "adam-sde":
            nn = k + 1.0
            i1 = -math.expm1(-om1 * nn)
            s2 = math.sqrt(-math.expm1(-om2 * nn))
            tf0, tf1 = F32(s2 / i1), F32(s2)
            xi = rng.standard_normal(x.shape, dtype=F32)
            v += p3 * (g * g + p6 - v)
            pp = np.sqrt(np.maximum(v, F32(0.0))) + p4 * tf1
            x -= (dt * tf0) * (m + p7 * (g - m)) / pp + (tf0 * p8) * xi / pp
            m += p2 * (g - m) + p1 * xi
        elif model == "dsignsgd":
            z = rng.standard_normal((n, AGENTS, dim), dtype=F32)
            s = np.sign(g[:, None, :] + F32(SIGMA) * z).sum(axis=1, dtype=F32)
            x -= eta * (s * inv_n)
        elif model == "dcsgd":
            z = rng.standard_normal((n, AGENTS, dim), dtype=F32)
            va = g[:, None, :] + F32(SIGMA) * z
            keep = randk_mask(rng.random((n, AGENTS, dim), dtype=F32))
            acc = np.where(keep, va * scale, F32(0.0)).sum(axis=1, dtype=F32)
            x -= eta * (acc * inv_n)
        else:
            raise ValueError(model)
    final_out[:] = loss(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=MODELS)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--paths", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--landscape", default=DEFAULT_LANDSCAPE, help="the landscape f as JSON (see above)")
    ap.add_argument("--evaluate", metavar="POINTS", help="print f and its gradient at these points (JSON) and exit")
    a = ap.parse_args()
    if a.dim < 1 or a.paths < 1 or a.steps < 1:
        ap.error("--dim, --paths and --steps must be >= 1")
    try:
        spec = json.loads(a.landscape)
        loss, grad = landscape(spec, a.dim)
        data = regression_params(spec, a.dim)
    except (ValueError, KeyError, TypeError) as err:
        ap.error(f"--landscape {a.landscape[:200]}: {type(err).__name__}: {err}")
    if a.evaluate is not None:
        pts = np.asarray(json.loads(a.evaluate), F32).reshape(-1, a.dim)
        json.dump({"tool": "numpy", "loss": loss(pts).tolist(), "grad": grad(pts).tolist()}, sys.stdout)
        sys.stdout.write("\n")
        return
    if data is not None and a.model not in DATA_MODELS:
        ap.error(f"--model {a.model} does not run on the regression landscape (only {', '.join(DATA_MODELS)})")
    if a.model == "dcsgd" and a.dim < RANDK:
        ap.error(f"dcsgd uses rand-k with k = {RANDK}: --dim must be >= {RANDK}")
    width = a.dim * (AGENTS if a.model in ("dsignsgd", "dcsgd") else 1) + (data is not None)
    chunk = max(1, min(a.paths, (1 << 22) // width))
    start = a.steps // 2
    rng = np.random.default_rng(a.seed)

    # Warm-up: a few steps on one chunk (page faults, first-call costs), not timed.
    warm = np.zeros(chunk), np.zeros(chunk, F32)
    warm_rng = np.random.default_rng(a.seed + 1)
    simulate(a.model, a.dim, chunk, min(a.steps, 4), warm_rng, 1 << 62, *warm, loss, grad, data)

    stat_sum = np.zeros(a.paths)
    final = np.zeros(a.paths, F32)
    t0 = time.perf_counter()
    for lo in range(0, a.paths, chunk):
        hi = min(a.paths, lo + chunk)
        s = np.zeros(hi - lo)
        simulate(a.model, a.dim, hi - lo, a.steps, rng, start, s, final[lo:hi], loss, grad, data)
        stat_sum[lo:hi] = s
    seconds = time.perf_counter() - t0

    samples = (a.steps - start) // EVERY + 1
    per_path = stat_sum / samples
    nb = a.paths // BATCH
    if nb >= 2:
        means = per_path[: nb * BATCH].reshape(nb, BATCH).mean(axis=1)
        se = float(means.std(ddof=1) / math.sqrt(nb))
    else:
        se = float(per_path.std(ddof=1) / math.sqrt(a.paths)) if a.paths > 1 else float("nan")
    out = {
        "tool": "numpy",
        "version": np.__version__,
        "erf": "scipy.special.erf" if _erf is not None else "A&S 7.1.26",
        "model": a.model,
        "landscape": spec["kind"],
        "dim": a.dim,
        "paths": a.paths,
        "steps": a.steps,
        "seed": a.seed,
        "chunk": chunk,
        "seconds": seconds,
        "path_steps_per_second": a.paths * a.steps / seconds,
        "path_coordinate_steps_per_second": a.paths * a.dim * a.steps / seconds,
        "final_loss_mean": float(final.astype(np.float64).mean()),
        "stationary_loss": float(per_path.mean()),
        "stationary_loss_se": se,
        "stationary_samples": samples,
        "stationary_start": start,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

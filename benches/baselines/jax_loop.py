#!/usr/bin/env python3
"""JAX baseline for `optsde bench`: the suite's optimizer/SDE loops, jit-compiled, float32.

The same models, landscapes, parameters and statistics as numpy_loop.py (read its docstring for
the update rules and the --landscape JSON: quadratic, dense, double-well, rosenbrock, each with
its gradient written out, and regression, whose signsgd and sgd-sde sample the data: B (d + 1)
and d + 1 normals per path and step, the same O(d) update): x0 = 0, sigma = 1, eta = 1e-3, dt = eta; Adam beta1 = 0.9,
beta2 = 0.999, eps = 1e-8; the Adam SDE is P1's with V first, bias corrections and
correction = "consistent"; N = 4 agents; rand-k with k = 4.

Each chunk of paths runs as one `jax.jit`-compiled function: `jax.lax.fori_loop` over the steps,
the state (x, m, v and each path's running sum of stationary samples) in the loop carry, the
normals from `jax.random.normal(jax.random.fold_in(chunk_key, step), ...)` (threefry, float32;
on the regression landscape one (n, d + 1) draw per data point, its last column the label's
normal, or for sgd-sde its first column z').
Compilation is done ahead of time (`jit(...).lower(...).compile()`) for every chunk shape and is
excluded from `seconds`; `seconds` covers running every chunk to completion
(`block_until_ready`). Chunks hold at most 2^22 numbers per array.

Usage: jax_loop.py --model signsgd-sde --dim 1 --paths 1048576 --steps 1000 --seed 1
           [--landscape JSON]
Prints one JSON line; --evaluate POINTS prints the landscape's loss and gradient at the points
instead (as numpy_loop.py).
"""

import argparse
import json
import math
import sys
import time

import jax
import jax.numpy as jnp
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
DATA_MODELS = ("signsgd", "sgd-sde")  # the models that run on the regression landscape
DEFAULT_LANDSCAPE = '{"kind": "quadratic", "h": 1.0}'
F32 = jnp.float32


def randk_mask(u):
    """A uniform RANDK-subset of the last axis by selection sampling (Knuth's Algorithm S, as
    optsde's kernel): exactly k kept. Unrolled over d; 20x faster than lax.top_k or a sort here."""
    d = u.shape[-1]
    kept = jnp.zeros(u.shape[:-1], F32)
    cols = []
    for i in range(d):
        keep = u[..., i] * F32(d - i) < F32(RANDK) - kept
        kept = kept + keep.astype(F32)
        cols.append(keep)
    return jnp.stack(cols, axis=-1)


def landscape(spec, dim):
    """(loss, grad) of the --landscape `spec` in dimension `dim` (numpy_loop.py's docstring
    writes them out), float32: loss(x) has shape (n,) and grad(x) shape (n, d) for x of shape
    (n, d). Raises ValueError on a bad spec."""
    kind = spec.get("kind")
    if kind == "quadratic":
        h = float(spec["h"])
        return (lambda x: F32(0.5 * h) * jnp.sum(x * x, axis=1)), (lambda x: F32(h) * x)
    if kind == "dense":
        hm, c = np.asarray(spec["h"], np.float64), np.asarray(spec["c"], np.float64)
        if hm.size != dim * dim or c.size != dim:
            raise ValueError(f"dense: {hm.size} entries of H and {c.size} of c, expected {dim * dim} and {dim}")
        ht = jnp.asarray(hm.reshape(dim, dim).T, F32)
        c = jnp.asarray(c, F32)

        def dense_grad(x):
            return jnp.dot(x - c, ht, precision=jax.lax.Precision.HIGHEST)

        return (lambda x: F32(0.5) * jnp.sum((x - c) * dense_grad(x), axis=1)), dense_grad
    if kind == "double-well":
        if dim != 1:
            raise ValueError(f"double-well: d = {dim}, it is 1-D")
        a, b, four_a = F32(spec["a"]), F32(spec["b"]), F32(4.0 * float(spec["a"]))

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
            return jnp.sum(b * r * r + s * s, axis=1)

        def rb_grad(x):
            lo, hi = x[:, :-1], x[:, 1:]
            r = hi - lo * lo
            left = -four_b * lo * r - F32(2.0) * (a - lo)
            return jnp.pad(left, ((0, 0), (0, 1))) + jnp.pad(two_b * r, ((0, 0), (1, 0)))

        return rb_loss, rb_grad
    if kind == "regression":
        k, c = regression_params(spec, dim)[:2]
        return (lambda x: F32(0.5) * jnp.sum(k * (x - c) * (x - c), axis=1)), (lambda x: k * (x - c))
    raise ValueError(f"unknown landscape kind {kind!r}; known: {', '.join(LANDSCAPES)}")


def regression_params(spec, dim):
    """The regression landscape's (k, x*, sqrt(k)) as float32 arrays and (sigma, B) as Python
    numbers (numpy_loop.py's docstring); None for the other kinds. Raises ValueError on a bad spec."""
    if spec.get("kind") != "regression":
        return None
    k, c = np.asarray(spec["k"], np.float64), np.asarray(spec["target"], np.float64)
    sigma, batch = float(spec["sigma"]), int(spec["batch"])
    if k.size != dim or c.size != dim:
        raise ValueError(f"regression: {k.size} entries of k and {c.size} of target, expected {dim} each")
    if (k <= 0).any() or sigma < 0 or batch < 1:
        raise ValueError("regression: k must be > 0, sigma >= 0 and batch >= 1")
    return jnp.asarray(k, F32), jnp.asarray(c, F32), jnp.asarray(np.sqrt(k), F32), sigma, batch


def data_gradient(x, data, key):
    """One sampled gradient per path on the regression landscape (numpy_loop.py's
    `data_gradient`): per data point an (n, d + 1) draw, a = sqrt(k) z from its first d columns,
    eps = sigma z_e from the last; the batch mean of a (a^T r - eps)."""
    _, c, sk, sigma, batch = data
    n, d = x.shape
    r = x - c
    g = jnp.zeros_like(x)
    for b in range(batch):
        w = jax.random.normal(key if batch == 1 else jax.random.fold_in(key, b), (n, d + 1), F32)
        a = sk * w[:, :d]
        u = jnp.sum(a * r, axis=1) - F32(sigma) * w[:, d]
        g = g + a * u[:, None]
    return g if batch == 1 else g * F32(1.0 / batch)


def make_run(model, dim, n, steps, start, loss, grad, data=None):
    """The jitted simulation of `n` paths: key -> (final loss per path, stationary sum per path).
    `data`: the regression landscape's parameters (`regression_params`), None for the others."""
    eta = dt = ETA
    sq = math.sqrt(eta * dt)
    noise = sq * SIGMA
    inv = 1.0 / (math.sqrt(2.0) * SIGMA)
    om1, om2 = 1.0 - BETA1, 1.0 - BETA2
    p1, p8 = om1 / eta * noise, om1 * noise
    scale = dim / RANDK
    lb1, lb2 = math.log(BETA1), math.log(BETA2)

    def body(k, carry):
        x, m, v, stat, key = carry
        sample = (k >= start) & ((k - start) % EVERY == 0)
        stat = stat + jnp.where(sample, loss(x), F32(0.0))
        kk = jax.random.fold_in(key, k)
        if model == "signsgd" and data is not None:
            x = x - F32(eta) * jnp.sign(data_gradient(x, data, kk))
            return x, m, v, stat, key
        g = grad(x)
        if model == "sgd-sde" and data is not None:
            _, c, sk, sigma, batch = data
            w = jax.random.normal(kk, (n, dim + 1), F32)
            s = jnp.sqrt(jnp.sum(g * (x - c), axis=1) + F32(sigma * sigma))
            xi = s[:, None] * (sk * w[:, 1:]) + g * w[:, :1]
            x = x - F32(dt) * g + F32(math.sqrt(eta * dt / batch)) * xi
        elif model == "signsgd":
            x = x - F32(eta) * jnp.sign(g + F32(SIGMA) * jax.random.normal(kk, x.shape, F32))
        elif model == "signsgd-sde":
            e = jax.lax.erf(g * F32(inv))
            xi = jax.random.normal(kk, x.shape, F32)
            x = x - F32(dt) * e + F32(sq) * jnp.sqrt(jnp.maximum(1.0 - e * e, 0.0)) * xi
        elif model == "sgd-sde":
            x = x - F32(dt) * g + F32(noise) * jax.random.normal(kk, x.shape, F32)
        elif model == "adam":
            nn = (k + 1).astype(F32)
            tf0 = F32(1.0) / -jnp.expm1(F32(lb1) * nn)
            tf1 = F32(1.0) / -jnp.expm1(F32(lb2) * nn)
            gg = g + F32(SIGMA) * jax.random.normal(kk, x.shape, F32)
            m = m + F32(om1) * (gg - m)
            v = v + F32(om2) * (gg * gg - v)
            x = x - F32(eta) * (m * tf0) / (jnp.sqrt(jnp.maximum(v, 0.0) * tf1) + F32(EPS))
        elif model == "adam-sde":
            nn = (k + 1).astype(F32)
            i1 = -jnp.expm1(F32(-om1) * nn)
            s2 = jnp.sqrt(-jnp.expm1(F32(-om2) * nn))
            tf0, tf1 = s2 / i1, s2
            xi = jax.random.normal(kk, x.shape, F32)
            v = v + F32(om2) * (g * g + F32(SIGMA * SIGMA) - v)
            pp = jnp.sqrt(jnp.maximum(v, 0.0)) + F32(EPS) * tf1
            x = x - F32(dt) * tf0 * (m + F32(om1) * (g - m)) / pp - tf0 * F32(p8) * xi / pp
            m = m + F32(om1) * (g - m) + F32(p1) * xi
        elif model == "dsignsgd":
            z = jax.random.normal(kk, (n, AGENTS, dim), F32)
            s = jnp.sum(jnp.sign(g[:, None, :] + F32(SIGMA) * z), axis=1)
            x = x - F32(eta) * (s * F32(1.0 / AGENTS))
        elif model == "dcsgd":
            kz, ku = jax.random.split(kk)
            z = jax.random.normal(kz, (n, AGENTS, dim), F32)
            va = g[:, None, :] + F32(SIGMA) * z
            keep = randk_mask(jax.random.uniform(ku, (n, AGENTS, dim), F32))
            acc = jnp.sum(jnp.where(keep, va * F32(scale), F32(0.0)), axis=1)
            x = x - F32(eta) * (acc * F32(1.0 / AGENTS))
        else:
            raise ValueError(model)
        return x, m, v, stat, key

    def run(key):
        z = jnp.zeros((n, dim), F32)
        x, m, v, stat, _ = jax.lax.fori_loop(0, steps, body, (z, z, z, jnp.zeros((n,), F32), key))
        # The sample after the last step (k = steps), as optsde takes it.
        last = (steps >= start) & ((steps - start) % EVERY == 0)
        fin = loss(x)
        return fin, stat + jnp.where(last, fin, F32(0.0))

    return jax.jit(run)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=MODELS)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--paths", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--landscape", default=DEFAULT_LANDSCAPE, help="the landscape f as JSON (numpy_loop.py)")
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
        pts = jnp.asarray(np.asarray(json.loads(a.evaluate), np.float32).reshape(-1, a.dim))
        out = {"tool": "jax", "loss": np.asarray(loss(pts)).tolist(), "grad": np.asarray(grad(pts)).tolist()}
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return
    if data is not None and a.model not in DATA_MODELS:
        ap.error(f"--model {a.model} does not run on the regression landscape (only {', '.join(DATA_MODELS)})")
    if a.model == "dcsgd" and a.dim < RANDK:
        ap.error(f"dcsgd uses rand-k with k = {RANDK}: --dim must be >= {RANDK}")
    width = a.dim * (AGENTS if a.model in ("dsignsgd", "dcsgd") else 1) + (data is not None)
    chunk = max(1, min(a.paths, (1 << 22) // width))
    start = a.steps // 2
    chunks = [(lo, min(a.paths, lo + chunk)) for lo in range(0, a.paths, chunk)]

    # Ahead-of-time compilation of every chunk shape (at most two), not timed.
    key = jax.random.PRNGKey(a.seed)
    t_compile = time.perf_counter()
    compiled = {}
    for lo, hi in chunks:
        if hi - lo not in compiled:
            run = make_run(a.model, a.dim, hi - lo, a.steps, start, loss, grad, data)
            compiled[hi - lo] = run.lower(key).compile()
    t_compile = time.perf_counter() - t_compile

    t0 = time.perf_counter()
    outs = []
    for c, (lo, hi) in enumerate(chunks):
        outs.append(compiled[hi - lo](jax.random.fold_in(key, c)))
    outs = jax.block_until_ready(outs)
    seconds = time.perf_counter() - t0

    final = np.concatenate([np.asarray(f, np.float64) for f, _ in outs])
    samples = (a.steps - start) // EVERY + 1
    per_path = np.concatenate([np.asarray(s, np.float64) for _, s in outs]) / samples
    nb = a.paths // BATCH
    if nb >= 2:
        means = per_path[: nb * BATCH].reshape(nb, BATCH).mean(axis=1)
        se = float(means.std(ddof=1) / math.sqrt(nb))
    else:
        se = float(per_path.std(ddof=1) / math.sqrt(a.paths)) if a.paths > 1 else float("nan")
    out = {
        "tool": "jax",
        "version": jax.__version__,
        "device": str(jax.devices()[0]),
        "model": a.model,
        "landscape": spec["kind"],
        "dim": a.dim,
        "paths": a.paths,
        "steps": a.steps,
        "seed": a.seed,
        "chunk": chunk,
        "compile_seconds": t_compile,
        "seconds": seconds,
        "path_steps_per_second": a.paths * a.steps / seconds,
        "path_coordinate_steps_per_second": a.paths * a.dim * a.steps / seconds,
        "final_loss_mean": float(final.mean()),
        "stationary_loss": float(per_path.mean()),
        "stationary_loss_se": se,
        "stationary_samples": samples,
        "stationary_start": start,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

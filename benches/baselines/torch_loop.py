#!/usr/bin/env python3
"""PyTorch baseline for `optsde bench`: the suite's optimizer/SDE loops, float32, on the GPU
when PyTorch sees one (CUDA or ROCm), else on the CPU.

The same models, landscapes, parameters and statistics as numpy_loop.py and jax_loop.py (read
numpy_loop.py's docstring for the update rules and the --landscape JSON: quadratic, dense,
double-well, rosenbrock, each with its gradient written out, and regression, whose signsgd and
sgd-sde sample the data: B (d + 1) and d + 1 normals per path and step, the same O(d) update):
x0 = 0, sigma = 1, eta = 1e-3,
dt = eta; Adam beta1 = 0.9, beta2 = 0.999, eps = 1e-8; the Adam SDE is P1's with V first, bias
corrections and correction = "consistent"; N = 4 agents; rand-k with k = 4.

This is the loop a PyTorch user writes: a Python `for` over the steps, the state (x, m, v and
each path's running sum of stationary samples) as device tensors, the normals from
`torch.randn(..., generator=g)` (Philox on a GPU, float32; on the regression landscape an
(n, B, d + 1) draw for signsgd, the label's normal last, and an (n, d + 1) draw for sgd-sde, z'
first) and the update as tensor operations.
By default the update is compiled with `torch.compile` (fused into one kernel per step where
the backend can); `--mode eager` runs it op by op. If compilation fails (no C++ compiler or
Triton) the script falls back to eager and says so in `mode_note`. A warm-up of the same shapes
(two steps; it also compiles) is excluded from `seconds`; `seconds` covers every chunk to
completion (`torch.cuda.synchronize`). Chunks hold at most 2^22 numbers per array.

Usage: torch_loop.py --model signsgd-sde --dim 1 --paths 1048576 --steps 1000 --seed 1
           [--landscape JSON]
Prints one JSON line; --evaluate POINTS prints the landscape's loss and gradient at the points
instead (as numpy_loop.py).
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import torch

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


def randk_mask(u):
    """A uniform RANDK-subset of the last axis by selection sampling (Knuth's Algorithm S, as
    optsde's kernel and jax_loop.py): exactly k kept."""
    d = u.shape[-1]
    kept = torch.zeros(u.shape[:-1], dtype=u.dtype, device=u.device)
    cols = []
    for i in range(d):
        keep = u[..., i] * float(d - i) < float(RANDK) - kept
        kept = kept + keep.to(u.dtype)
        cols.append(keep)
    return torch.stack(cols, dim=-1)


def landscape(spec, dim, dev):
    """(loss, grad) of the --landscape `spec` in dimension `dim` (numpy_loop.py's docstring
    writes them out), float32 tensors on `dev`: loss(x) has shape (n,) and grad(x) shape (n, d)
    for x of shape (n, d). Raises ValueError on a bad spec."""
    kind = spec.get("kind")
    if kind == "quadratic":
        h = float(spec["h"])
        return (lambda x: 0.5 * h * (x * x).sum(dim=1)), (lambda x: h * x)
    if kind == "dense":
        hm, c = np.asarray(spec["h"], np.float64), np.asarray(spec["c"], np.float64)
        if hm.size != dim * dim or c.size != dim:
            raise ValueError(f"dense: {hm.size} entries of H and {c.size} of c, expected {dim * dim} and {dim}")
        ht = torch.tensor(hm.reshape(dim, dim).T.copy(), dtype=torch.float32, device=dev)
        c = torch.tensor(c, dtype=torch.float32, device=dev)

        def dense_grad(x):
            return (x - c) @ ht

        return (lambda x: 0.5 * ((x - c) * dense_grad(x)).sum(dim=1)), dense_grad
    if kind == "double-well":
        if dim != 1:
            raise ValueError(f"double-well: d = {dim}, it is 1-D")
        a, b = float(np.float32(spec["a"])), float(np.float32(spec["b"]))
        four_a = float(np.float32(4.0 * float(spec["a"])))

        def dw_loss(x):
            u = x[:, 0] * x[:, 0] - 1.0
            return a * u * u + b * x[:, 0]

        return dw_loss, (lambda x: four_a * x * (x * x - 1.0) + b)
    if kind == "rosenbrock":
        if dim < 2:
            raise ValueError(f"rosenbrock: d = {dim}, it needs d >= 2")
        a, b = float(spec["a"]), float(spec["b"])

        def rb_loss(x):
            lo, hi = x[:, :-1], x[:, 1:]
            r, s = hi - lo * lo, a - lo
            return (b * r * r + s * s).sum(dim=1)

        def rb_grad(x):
            lo, hi = x[:, :-1], x[:, 1:]
            r = hi - lo * lo
            left = -4.0 * b * lo * r - 2.0 * (a - lo)
            return torch.nn.functional.pad(left, (0, 1)) + torch.nn.functional.pad(2.0 * b * r, (1, 0))

        return rb_loss, rb_grad
    if kind == "regression":
        k, c = regression_params(spec, dim, dev)[:2]
        return (lambda x: 0.5 * (k * (x - c) * (x - c)).sum(dim=1)), (lambda x: k * (x - c))
    raise ValueError(f"unknown landscape kind {kind!r}; known: {', '.join(LANDSCAPES)}")


def regression_params(spec, dim, dev):
    """The regression landscape's (k, x*, sqrt(k)) as float32 tensors on `dev` and (sigma, B) as
    Python numbers (numpy_loop.py's docstring); None for the other kinds. Raises ValueError on a
    bad spec."""
    if spec.get("kind") != "regression":
        return None
    k, c = np.asarray(spec["k"], np.float64), np.asarray(spec["target"], np.float64)
    sigma, batch = float(spec["sigma"]), int(spec["batch"])
    if k.size != dim or c.size != dim:
        raise ValueError(f"regression: {k.size} entries of k and {c.size} of target, expected {dim} each")
    if (k <= 0).any() or sigma < 0 or batch < 1:
        raise ValueError("regression: k must be > 0, sigma >= 0 and batch >= 1")

    def f32(v):
        return torch.tensor(v, dtype=torch.float32, device=dev)

    return f32(k), f32(c), f32(np.sqrt(k)), sigma, batch


def make_step(model, dim, grad, data=None):
    """The update of one step: (x, m, v, noise, tf) -> (x, m, v); `noise` is what the model
    draws (normals; for dcsgd normals and uniforms; on the regression landscape, `data` its
    parameters, the data's normals), `tf` the Adam models' time factors (the SDE's
    sqrt(iota2)/iota1 and sqrt(iota2); the optimizer's 1/b1 and 1/b2)."""
    eta = dt = ETA
    sq = math.sqrt(eta * dt)
    noise_scale = sq * SIGMA
    inv = 1.0 / (math.sqrt(2.0) * SIGMA)
    om1, om2 = 1.0 - BETA1, 1.0 - BETA2
    p1, p8 = om1 / eta * noise_scale, om1 * noise_scale
    scale = dim / RANDK
    if data is not None:
        _, c, sk, sigma, batch = data
        noise_data = math.sqrt(eta * dt / batch)

    def step(x, m, v, xi, u, tf0, tf1):
        if model == "signsgd" and data is not None:
            # xi: (n, B, d + 1), a data point per row, the label's normal last.
            a = sk * xi[:, :, :dim]
            res = (a * (x - c)[:, None, :]).sum(dim=2) - sigma * xi[:, :, dim]
            g = (a * res[:, :, None]).sum(dim=1)
            return x - eta * torch.sign(g if batch == 1 else g * (1.0 / batch)), m, v
        g = grad(x)
        if model == "sgd-sde" and data is not None:
            # xi: (n, d + 1), z' first.
            s = torch.sqrt((g * (x - c)).sum(dim=1) + sigma * sigma)
            x = x - dt * g + noise_data * (s[:, None] * (sk * xi[:, 1:]) + g * xi[:, :1])
        elif model == "signsgd":
            x = x - eta * torch.sign(g + SIGMA * xi)
        elif model == "signsgd-sde":
            e = torch.erf(g * inv)
            x = x - dt * e + sq * torch.sqrt(torch.clamp(1.0 - e * e, min=0.0)) * xi
        elif model == "sgd-sde":
            x = x - dt * g + noise_scale * xi
        elif model == "adam":
            gg = g + SIGMA * xi
            m = m + om1 * (gg - m)
            v = v + om2 * (gg * gg - v)
            x = x - eta * (m * tf0) / (torch.sqrt(torch.clamp(v, min=0.0) * tf1) + EPS)
        elif model == "adam-sde":
            v = v + om2 * (g * g + SIGMA * SIGMA - v)
            pp = torch.sqrt(torch.clamp(v, min=0.0)) + EPS * tf1
            x = x - dt * tf0 * (m + om1 * (g - m)) / pp - tf0 * p8 * xi / pp
            m = m + om1 * (g - m) + p1 * xi
        elif model == "dsignsgd":
            s = torch.sign(g[:, None, :] + SIGMA * xi).sum(dim=1)
            x = x - eta * (s * (1.0 / AGENTS))
        elif model == "dcsgd":
            va = g[:, None, :] + SIGMA * xi
            keep = randk_mask(u)
            acc = torch.where(keep, va * scale, torch.zeros_like(va)).sum(dim=1)
            x = x - eta * (acc * (1.0 / AGENTS))
        else:
            raise ValueError(model)
        return x, m, v

    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=MODELS)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--paths", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=("compile", "eager"), default="compile")
    ap.add_argument("--landscape", default=DEFAULT_LANDSCAPE, help="the landscape f as JSON (numpy_loop.py)")
    ap.add_argument("--evaluate", metavar="POINTS", help="print f and its gradient at these points (JSON) and exit")
    a = ap.parse_args()
    if a.dim < 1 or a.paths < 1 or a.steps < 1:
        ap.error("--dim, --paths and --steps must be >= 1")
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        spec = json.loads(a.landscape)
        loss, grad = landscape(spec, a.dim, dev)
        data = regression_params(spec, a.dim, dev)
    except (ValueError, KeyError, TypeError) as err:
        ap.error(f"--landscape {a.landscape[:200]}: {type(err).__name__}: {err}")
    if a.evaluate is not None:
        pts = torch.tensor(np.asarray(json.loads(a.evaluate), np.float32).reshape(-1, a.dim), device=dev)
        out = {"tool": "torch", "loss": loss(pts).cpu().tolist(), "grad": grad(pts).cpu().tolist()}
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return
    if data is not None and a.model not in DATA_MODELS:
        ap.error(f"--model {a.model} does not run on the regression landscape (only {', '.join(DATA_MODELS)})")
    if a.model == "dcsgd" and a.dim < RANDK:
        ap.error(f"dcsgd uses rand-k with k = {RANDK}: --dim must be >= {RANDK}")
    multi = a.model in ("dsignsgd", "dcsgd")
    width = a.dim * (AGENTS if multi else 1) + (data is not None)
    chunk = max(1, min(a.paths, (1 << 22) // width))
    start = a.steps // 2
    chunks = [(lo, min(a.paths, lo + chunk)) for lo in range(0, a.paths, chunk)]

    eager = make_step(a.model, a.dim, grad, data)
    step, mode, mode_note = eager, "eager", None
    if a.mode == "compile":
        step, mode = torch.compile(eager, dynamic=False), "compile"
    # The Adam models' time factors of every step, on the device (index k is a view, no copy):
    # the SDE's sqrt(iota2)/iota1 and sqrt(iota2), the optimizer's 1/(1 - beta_i^(k+1)).
    kk = torch.arange(1, a.steps + 1, dtype=torch.float64)
    if a.model == "adam":
        tf0s = -1.0 / torch.expm1(math.log(BETA1) * kk)
        tf1s = -1.0 / torch.expm1(math.log(BETA2) * kk)
    else:
        i1 = -torch.expm1(-(1.0 - BETA1) * kk)
        tf1s = torch.sqrt(-torch.expm1(-(1.0 - BETA2) * kk))
        tf0s = tf1s / i1
    tf0s, tf1s = tf0s.to(torch.float32).to(dev), tf1s.to(torch.float32).to(dev)
    shape_of = (lambda n: (n, AGENTS, a.dim)) if multi else (lambda n: (n, a.dim))
    if data is not None:  # the data's normals (make_step)
        shape_of = (lambda n: (n, data[4], a.dim + 1)) if a.model == "signsgd" else (lambda n: (n, a.dim + 1))

    def run(n, steps, gen):
        z = torch.zeros((n, a.dim), dtype=torch.float32, device=dev)
        x, m, v = z, z.clone(), z.clone()
        stat = torch.zeros((n,), dtype=torch.float32, device=dev)
        for k in range(steps):
            if k >= start and (k - start) % EVERY == 0:
                stat = stat + loss(x)
            xi = torch.randn(shape_of(n), generator=gen, device=dev, dtype=torch.float32)
            u = torch.rand(shape_of(n), generator=gen, device=dev, dtype=torch.float32) if a.model == "dcsgd" else xi
            x, m, v = step(x, m, v, xi, u, tf0s[k], tf1s[k])
        fin = loss(x)
        # The sample after the last step (k = steps), as optsde takes it.
        if steps >= start and (steps - start) % EVERY == 0:
            stat = stat + fin
        return fin, stat

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    # Warm-up (compiles, allocates) on every chunk shape, not timed; falls back to eager.
    t_warm = time.perf_counter()
    with torch.no_grad():
        for n in sorted({hi - lo for lo, hi in chunks}):
            gen = torch.Generator(device=dev).manual_seed(a.seed + 7919)
            try:
                run(n, 2, gen)
            except Exception as err:  # noqa: BLE001 - any compile failure means eager
                if mode != "compile":
                    raise
                step, mode = eager, "eager"
                mode_note = f"torch.compile failed, ran eager: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
                run(n, 2, gen)
    sync()
    t_warm = time.perf_counter() - t_warm

    t0 = time.perf_counter()
    outs = []
    with torch.no_grad():
        for c, (lo, hi) in enumerate(chunks):
            gen = torch.Generator(device=dev).manual_seed(a.seed * 1_000_003 + c)
            outs.append(run(hi - lo, a.steps, gen))
    sync()
    seconds = time.perf_counter() - t0

    final = np.concatenate([f.double().cpu().numpy() for f, _ in outs])
    samples = (a.steps - start) // EVERY + 1
    per_path = np.concatenate([s.double().cpu().numpy() for _, s in outs]) / samples
    nb = a.paths // BATCH
    if nb >= 2:
        means = per_path[: nb * BATCH].reshape(nb, BATCH).mean(axis=1)
        se = float(means.std(ddof=1) / math.sqrt(nb))
    else:
        se = float(per_path.std(ddof=1) / math.sqrt(a.paths)) if a.paths > 1 else float("nan")
    device = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    out = {
        "tool": "torch",
        "version": torch.__version__,
        "device": device,
        "mode": mode,
        "model": a.model,
        "landscape": spec["kind"],
        "dim": a.dim,
        "paths": a.paths,
        "steps": a.steps,
        "seed": a.seed,
        "chunk": chunk,
        "warmup_seconds": t_warm,
        "seconds": seconds,
        "path_steps_per_second": a.paths * a.steps / seconds,
        "path_coordinate_steps_per_second": a.paths * a.dim * a.steps / seconds,
        "final_loss_mean": float(final.mean()),
        "stationary_loss": float(per_path.mean()),
        "stationary_loss_se": se,
        "stationary_samples": samples,
        "stationary_start": start,
    }
    if mode_note:
        out["mode_note"] = mode_note
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

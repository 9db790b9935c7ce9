"""The CPU speedrun (preset ``speedrun``) in nnlearn, PyTorch and JAX, timed side by side.

One recipe, written three times from the preset's own settings (widths, kernel sizes and the
hidden layer read from it; today conv 16 5×5 → max-pool 2 → batch norm → ReLU → conv 32 3×3
→ max-pool 2 → batch norm → ReLU → FC 128 ReLU → softmax), log-likelihood (with the preset's
label smoothing), He-initialised weights and zero biases, Adam with the preset's betas under
the same one-cycle learning rate per minibatch (the very values of
``nnlearn.optim.schedules.OneCycle``), minibatches of 256 drawn in a fresh order each epoch
(NumPy's generator seeded by the round), the preset's epochs over all 60,000 training
images. nnlearn trains as ``nnlearn train --preset speedrun`` does (``build_preset``, then
``fit``); PyTorch eagerly, JAX as one jitted Adam step called per minibatch. Each round
gives each contender a fresh network (seed = the round) with a pause before it
(``common.PAUSE_SECONDS``); the script records each one's training seconds (the epochs
alone, as "training took") and its final test accuracy, and writes medians and the ratio
nnlearn / the fastest peer to
benchmarks/results/speedrun-TAG.json.

Usage: python benchmarks/bench_speedrun.py [--repeats 3] [--tag default] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from common import PAUSE_SECONDS, PEER_PACKAGES, contenders_available, environment, load_average, write_result

PRESET = "speedrun"


def recipe(quick: bool = False) -> dict:
    """The preset's settings that the peers copy, and the data (``--quick``: 2,560 images)."""
    from nnlearn.experiments.reproduce.common import build_preset, preset_config

    cfg = preset_config({"preset": PRESET}, seed=1)
    _, (X, y), (X_test, y_test), options = build_preset({"preset": PRESET}, seed=1)
    if quick:
        X, y, X_test, y_test = X[:2560], y[:2560], X_test[:1000], y_test[:1000]
    widths = [layer["out_channels"] for layer in cfg["model"]["layers"] if layer["type"] == "Conv2D"]
    kernels = [layer["kernel_size"] for layer in cfg["model"]["layers"] if layer["type"] == "Conv2D"]
    hidden = [layer["n_out"] for layer in cfg["model"]["layers"] if layer["type"] == "Dense"][0]
    return {"X": X, "y": y, "X_test": X_test, "y_test": y_test, "options": options,
            "m": options["mini_batch_size"], "epochs": options["epochs"], "eta": options["eta"],
            "betas": (cfg["optimizer"].get("beta1", 0.9), cfg["optimizer"].get("beta2", 0.999)),
            "label_smoothing": cfg["model"].get("label_smoothing", 0.0), "widths": widths,
            "kernels": kernels, "hidden": hidden, "schedule": options["schedule"],
            "momentum": 0.9}  # BatchNorm's default: weight of the old running value


def etas(r: dict) -> list[float]:
    """η of every minibatch of the run: the preset's schedule, as nnlearn's loop sets it."""
    steps = r["epochs"] * -(-len(r["y"]) // r["m"])
    return [r["eta"] * r["schedule"].factor(t / max(1, steps - 1)) for t in range(steps)]


def nnlearn_run(r: dict, seed: int) -> tuple[float, float]:
    """``(training seconds, test accuracy)`` of ``nnlearn train --preset speedrun --seed SEED``."""
    from nnlearn.experiments.reproduce.common import build_preset

    net, _, _, options = build_preset({"preset": PRESET}, seed=seed)
    history = net.fit(r["X"], r["y"], monitor=(), **options)
    return sum(history["train_seconds"]), net.evaluate(r["X_test"], r["y_test"])["accuracy"]


def torch_run(r: dict, seed: int) -> tuple[float, float]:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    (c1, c2), (k1, k2) = r["widths"], r["kernels"]
    side = ((28 - k1 + 1) // 2 - k2 + 1) // 2
    momentum = 1 - r["momentum"]  # PyTorch's momentum is the weight of the new value
    model = nn.Sequential(nn.Conv2d(1, c1, k1), nn.MaxPool2d(2), nn.BatchNorm2d(c1, momentum=momentum),
                          nn.ReLU(), nn.Conv2d(c1, c2, k2), nn.MaxPool2d(2),
                          nn.BatchNorm2d(c2, momentum=momentum), nn.ReLU(), nn.Flatten(),
                          nn.Linear(c2 * side * side, r["hidden"]), nn.ReLU(), nn.Linear(r["hidden"], 10))
    for module in model:
        if isinstance(module, (nn.Conv2d, nn.Linear)):  # He weights, zero biases, as the preset
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    opt = torch.optim.Adam(model.parameters(), lr=r["eta"], betas=r["betas"], eps=1e-8)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=r["label_smoothing"])
    X, y = torch.from_numpy(r["X"]), torch.from_numpy(r["y"])
    rng = np.random.default_rng(seed)
    schedule, step = etas(r), 0
    start = time.perf_counter()
    model.train()
    for _ in range(r["epochs"]):
        order = torch.from_numpy(rng.permutation(len(y)))
        for k in range(0, len(y), r["m"]):
            idx = order[k:k + r["m"]]
            for group in opt.param_groups:
                group["lr"] = schedule[step]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X.index_select(0, idx)), y.index_select(0, idx)).backward()
            opt.step()
            step += 1
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(r["X_test"])).argmax(1).numpy()
    return seconds, float((predicted == r["y_test"]).mean())


def jax_run(r: dict, seed: int) -> tuple[float, float]:
    import jax
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(seed)
    (c1, c2), (k1, k2) = r["widths"], r["kernels"]
    side = ((28 - k1 + 1) // 2 - k2 + 1) // 2

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    params = {"W1": he((c1, 1, k1, k1), k1 * k1), "b1": np.zeros(c1, np.float32),
              "g1": np.ones(c1, np.float32), "B1": np.zeros(c1, np.float32),
              "W2": he((c2, c1, k2, k2), c1 * k2 * k2), "b2": np.zeros(c2, np.float32),
              "g2": np.ones(c2, np.float32), "B2": np.zeros(c2, np.float32),
              "W3": he((c2 * side * side, r["hidden"]), c2 * side * side),
              "b3": np.zeros(r["hidden"], np.float32),
              "W4": he((r["hidden"], 10), r["hidden"]), "b4": np.zeros(10, np.float32)}
    running = {"m1": np.zeros(c1, np.float32), "v1": np.ones(c1, np.float32),
               "m2": np.zeros(c2, np.float32), "v2": np.ones(c2, np.float32)}
    eps_smooth, (beta1, beta2), momentum = r["label_smoothing"], r["betas"], r["momentum"]

    def block(x, W, b, g, B, stats, training):
        z = lax.conv_general_dilated(x, W, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        z = lax.reduce_window(z + b[None, :, None, None], -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                              "VALID")
        if training:
            mu, var = z.mean(axis=(0, 2, 3)), z.var(axis=(0, 2, 3))
        else:
            mu, var = stats
        z_hat = (z - mu[None, :, None, None]) / jnp.sqrt(var[None, :, None, None] + 1e-5)
        return jax.nn.relu(g[None, :, None, None] * z_hat + B[None, :, None, None]), (mu, var)

    def forward(params, running, x, training):
        a, s1 = block(x, params["W1"], params["b1"], params["g1"], params["B1"],
                      (running["m1"], running["v1"]), training)
        a, s2 = block(a, params["W2"], params["b2"], params["g2"], params["B2"],
                      (running["m2"], running["v2"]), training)
        a = jax.nn.relu(a.reshape(x.shape[0], -1) @ params["W3"] + params["b3"])
        return a @ params["W4"] + params["b4"], (s1, s2)

    def loss(params, running, xb, yb):  # softmax + log-likelihood with smoothed targets, batch mean
        z, stats = forward(params, running, xb, True)
        targets = jax.nn.one_hot(yb, 10) * (1 - eps_smooth) + eps_smooth / 10
        return -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(z), axis=1)), stats

    @jax.jit
    def step(params, running, moments, t, eta, xb, yb):
        grads, stats = jax.grad(loss, has_aux=True)(params, running, xb, yb)
        m, v = moments
        m = jax.tree.map(lambda m, g: beta1 * m + (1 - beta1) * g, m, grads)
        v = jax.tree.map(lambda v, g: beta2 * v + (1 - beta2) * g * g, v, grads)
        correction = jnp.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        params = jax.tree.map(lambda p, m, v: p - eta * correction * m / (jnp.sqrt(v) + 1e-8),
                              params, m, v)
        (mu1, var1), (mu2, var2) = stats  # running variances take the unbiased σ², as nnlearn's
        M1, M2 = xb.shape[0] * ((28 - k1 + 1) // 2) ** 2, xb.shape[0] * side ** 2
        running = {"m1": momentum * running["m1"] + (1 - momentum) * mu1,
                   "v1": momentum * running["v1"] + (1 - momentum) * var1 * M1 / (M1 - 1),
                   "m2": momentum * running["m2"] + (1 - momentum) * mu2,
                   "v2": momentum * running["v2"] + (1 - momentum) * var2 * M2 / (M2 - 1)}
        return params, running, (m, v)

    zeros = jax.tree.map(jnp.zeros_like, params)
    moments = (zeros, zeros)
    X, y, m = r["X"], r["y"], r["m"]
    schedule = etas(r)
    params, running = jax.device_put(params), jax.device_put(running)
    for size in sorted({m, len(y) % m} - {0}):  # compile every minibatch shape before the clock
        jax.block_until_ready(step(params, running, moments, 1.0, 0.0, X[:size], y[:size]))
    start, t = time.perf_counter(), 0
    for _ in range(r["epochs"]):
        order = rng.permutation(len(y))
        for k in range(0, len(y), m):
            idx = order[k:k + m]
            t += 1
            params, running, moments = step(params, running, moments, float(t), schedule[t - 1],
                                            X[idx], y[idx])
    jax.block_until_ready(params)
    seconds = time.perf_counter() - start
    z, _ = jax.jit(lambda p, s, x: forward(p, s, x, False))(params, running, r["X_test"])
    return seconds, float((np.asarray(z).argmax(1) == r["y_test"]).mean())


RUNS = {"nnlearn": nnlearn_run, "pytorch": torch_run, "jax": jax_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (seeds 1, 2, ...)")
    parser.add_argument("--tag", default="default")
    parser.add_argument("--quick", action="store_true",
                        help="check the script: 2,560 images, 2 rounds; writes to common.QUICK_RESULTS")
    args = parser.parse_args()
    from nnlearn.nn import kernels

    r = recipe(args.quick)
    repeats = 2 if args.quick else args.repeats
    compile_seconds = kernels.compile_kernels(("float32",))
    installed = contenders_available()
    names = ["nnlearn"] + [n for n in ("pytorch", "jax") if PEER_PACKAGES[n] in installed]
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for seed in range(1, repeats + 1):
        for name in names:
            time.sleep(PAUSE_SECONDS)
            seconds, accuracy = RUNS[name](r, seed)
            runs[name].append({"seed": seed, "seconds": seconds, "accuracy": accuracy})
            print(f"  round {seed}/{repeats} {name}: {seconds:.2f} s, test accuracy {100 * accuracy:.2f}%")
    median = {name: statistics.median(run["seconds"] for run in runs[name]) for name in names}
    peers = {name: t for name, t in median.items() if name != "nnlearn"}
    best = min(peers, key=peers.get) if peers else None
    result = {"benchmark": "speedrun", "env": environment(), "repeats": repeats,
              "command": "python " + " ".join(sys.argv), "images": len(r["y"]),
              "description": (f"preset {PRESET}: {r['epochs']} epoch(s) of {len(r['y']):,} images, "
                              f"mini-batch {r['m']}, Adam η {r['eta']} one-cycle"),
              "runs": runs, "median": median, "best_peer": best,
              "ratio": median["nnlearn"] / peers[best] if best else None,
              "accuracy_mean": {name: statistics.fmean(run["accuracy"] for run in runs[name])
                                for name in names},
              "pause_seconds": PAUSE_SECONDS, "nnlearn_compile_seconds": compile_seconds,
              "load_average_after": load_average()}
    print("  median training seconds: " + ", ".join(f"{n} {t:.2f}" for n, t in median.items())
          + (f"; nnlearn / {best} {result['ratio']:.3f}" if best else ""))
    print("wrote", write_result(f"speedrun-{args.tag}", result, quick=args.quick))


if __name__ == "__main__":
    main()

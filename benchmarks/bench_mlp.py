"""One epoch of the book's chapter-1 networks: nnlearn vs PyTorch on the CPU, side by side.

For [784,30,10] and [784,100,10] (sigmoid, quadratic cost, mini-batch 10, η = 3.0,
N(0,1) init) each contender trains one epoch over the same 50,000 MNIST images,
evaluation excluded; the two alternate for ``--repeats`` rounds and the medians
and the ratio nnlearn / PyTorch are written to benchmarks/results/mlp*.json.

Usage: python benchmarks/bench_mlp.py [--repeats 5] [--tag default]
"""

from __future__ import annotations

import argparse

import numpy as np

from common import alternate, native_blas, torch_sgd_epoch, environment, summary, write_result


def nnlearn_epoch(sizes, X, y, seed=0):
    import nnlearn

    net = nnlearn.Network.from_sizes(sizes, activation="sigmoid", cost="quadratic",
                                     weight_init="normal", bias_init="normal", seed=seed)
    return lambda: net.fit(X, y, epochs=1, mini_batch_size=10, eta=3.0, monitor=())


def torch_epoch(sizes, X, y, seed=0):
    import torch

    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        lin = torch.nn.Linear(n_in, n_out)
        torch.nn.init.normal_(lin.weight)
        torch.nn.init.normal_(lin.bias)
        layers += [lin, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    Xt = torch.from_numpy(X)
    Yt = torch.nn.functional.one_hot(torch.from_numpy(y), sizes[-1]).to(torch.float32)

    def quadratic(a, yb):  # the book's quadratic cost, batch mean
        return 0.5 * ((a - yb) ** 2).sum() / a.shape[0]

    return torch_sgd_epoch(model, quadratic, Xt, Yt, m=10, lr=3.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see common.native_blas)")
    parser.add_argument("--tag", default="default", help="suffix of the results file")
    args = parser.parse_args()
    native_blas(args.keep_blas_env)
    from nnlearn.data import load_mnist

    X, y = load_mnist().train
    X = np.ascontiguousarray(X, dtype=np.float32)
    import sys

    results = {"benchmark": "mlp", "env": environment(), "repeats": args.repeats, "networks": {},
               "command": "python " + " ".join(sys.argv)}
    for sizes in ([784, 30, 10], [784, 100, 10]):
        print(f"{sizes}: one epoch of {len(y)} images, mini-batch 10")
        times = alternate({"nnlearn": nnlearn_epoch(sizes, X, y), "pytorch": torch_epoch(sizes, X, y)},
                          args.repeats)
        s = summary(times)
        results["networks"][str(sizes)] = s
        print(f"  median nnlearn {s['median']['nnlearn']:.3f} s, pytorch {s['median']['pytorch']:.3f} s,"
              f" ratio {s['ratio']:.3f}")
    print("wrote", write_result(f"mlp-{args.tag}", results))


if __name__ == "__main__":
    main()

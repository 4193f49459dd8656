#!/usr/bin/python3
"""Label-noise SGD (THEORY 7, B = 1) as the obvious NumPy loop, one thread.

    Theta <- Theta - eta (f_i - y_i - xi_i) grad f_i,   grad f_i = (a * phi'(Theta x_i)) x_i^T

Run with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 (scripts/bench-peers does). See common_peer.py.
"""
import time

import numpy as np

from common_peer import parse_args, read_problem, report


def main():
    args = parse_args("NumPy")
    X, y, W, a = read_problem(args.data, args.weights)
    X, y, W, a = np.array(X), np.array(y), np.array(W), np.array(a)
    n = X.shape[0]
    eta, s = args.lr, args.label_noise
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for _ in range(args.steps):
        i = rng.integers(n)
        xi = s * rng.standard_normal()
        x = X[i]
        r = W @ x
        f = a @ (r + r**3 / 3)
        g = (f - y[i] - xi) * a * (1 + r * r)
        W -= eta * np.outer(g, x)
    seconds = time.perf_counter() - start
    R = X @ W.T
    loss = np.mean(((R + R**3 / 3) @ a - y) ** 2) / 2
    report("numpy", args.steps, seconds, loss)


if __name__ == "__main__":
    main()

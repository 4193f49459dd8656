#!/usr/bin/python3
"""Label-noise SGD (THEORY 7, B = 1) as the obvious PyTorch loop (autograd), one thread, float64.

    loss_i = (f_i - y_i - xi_i)^2 / 2,  Theta <- Theta - eta grad loss_i
           = Theta - eta (f_i - y_i - xi_i) grad f_i

See common_peer.py.
"""
import time

import torch

from common_peer import parse_args, read_problem, report


def main():
    args = parse_args("PyTorch")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    X, y, W, a = read_problem(args.data, args.weights)
    X = torch.tensor(X, dtype=torch.float64)
    y = torch.tensor(y, dtype=torch.float64)
    a = torch.tensor(a, dtype=torch.float64)
    W = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    n = X.shape[0]
    eta, s = args.lr, args.label_noise
    start = time.perf_counter()
    for _ in range(args.steps):
        i = torch.randint(n, ()).item()
        xi = s * torch.randn(()).item()
        r = W @ X[i]
        f = (a * (r + r**3 / 3)).sum()
        loss = 0.5 * (f - y[i] - xi) ** 2
        loss.backward()
        with torch.no_grad():
            W -= eta * W.grad
            W.grad.zero_()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        R = X @ W.T
        loss = (((R + R**3 / 3) @ a - y) ** 2).mean() / 2
    report("torch", args.steps, seconds, loss.item())


if __name__ == "__main__":
    main()

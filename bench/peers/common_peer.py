"""Shared command line and CSV reading of the peer loops (sgd_numpy.py, sgd_torch.py).

The peers read the same files as `zeroloss sgd` (data CSV: header, column `y` = labels; weights
CSV: one row per neuron, optional column `a`), run THEORY 7's step with B = 1 and Gaussian label
noise in full coordinates (the m x d matrix Theta, as a researcher would write it), cubic
activation phi(z) = z + z^3/3, and print one line:

    peer=<name> steps=<K> seconds=<loop seconds> steps_per_second=<K / seconds> final_loss=<L>

`seconds` covers the step loop only (not the interpreter start, imports or file reading).
"""
import argparse
import csv


def parse_args(name):
    ap = argparse.ArgumentParser(description=f"label-noise SGD, {name} peer (THEORY 7, B = 1, cubic)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--label-noise", type=float, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def read_problem(data_path, weights_path):
    """Returns X (list of rows), y, Theta (list of rows), a as plain Python lists."""
    with open(data_path) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    iy = header.index("y")
    X = [[float(v) for k, v in enumerate(r) if k != iy] for r in body]
    y = [float(r[iy]) for r in body]
    with open(weights_path) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if r]
    ia = header.index("a") if "a" in header else None
    W = [[float(v) for k, v in enumerate(r) if k != ia] for r in body]
    a = [float(r[ia]) if ia is not None else 1.0 for r in body]
    return X, y, W, a


def report(name, steps, seconds, final_loss):
    print(f"peer={name} steps={steps} seconds={seconds:.6g} steps_per_second={steps / seconds:.6g} "
          f"final_loss={final_loss:.6g}", flush=True)

"""Shared fixtures: the command-line program (to compare with) and the Figure 1 problem."""
import os
import pathlib
import subprocess

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ZEROLOSS_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BINARY = pathlib.Path(os.environ.get("ZEROLOSS_BINARY", SOURCE_DIR / "build" / "bin" / "zeroloss"))


def run_cli(*args):
    """Runs build/bin/zeroloss with the arguments; returns its CompletedProcess (raises on failure)."""
    return subprocess.run([str(BINARY), *map(str, args)], check=True, capture_output=True, text=True)


def read_csv(path):
    """A CSV with a header row as (header, float array); numpy parses the round-trip numbers exactly."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


@pytest.fixture(scope="session")
def figure1(tmp_path_factory):
    """The paper's Figure 1 problem written by the CLI (scripts/figure1): data.csv and w0.csv."""
    d = tmp_path_factory.mktemp("figure1")
    run_cli("data", "--generator", "uniform01", "--n", 3, "--d", 3, "--seed", 9, "--out", d / "data.csv",
            "--weights-out", d / "w0.csv", "--m", 10, "--init-scale", 0.5)
    header, data = read_csv(d / "data.csv")
    y = data[:, header.index("y")]
    X = data[:, [k for k, h in enumerate(header) if h != "y"]]
    wh, w = read_csv(d / "w0.csv")
    theta0 = w[:, [k for k, h in enumerate(wh) if h != "a"]]
    return {"dir": d, "X": X, "y": y, "theta0": theta0}

"""Ctrl-C during the long calls that run on a worker thread (the convexity analysis, the report): a
SIGINT sent to the process becomes KeyboardInterrupt within a bounded time, the library call stops at
its next check, and the module is usable afterwards."""
import json
import os
import signal
import threading
import time

import numpy as np
import pytest

import zeroloss as zl
from conftest import BINARY


def sigint_after(seconds):
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def figure1_model_and_minimum(figure1):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    return model, zl.optimum(model, figure1["theta0"])["theta"]


def test_sigint_stops_analyze_convexity(figure1):
    model, theta = figure1_model_and_minimum(figure1)
    start = time.monotonic()
    timer = sigint_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        zl.analyze_convexity(model, theta, quick=False)  # the thorough preset: a minute or more
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 4.0, elapsed
    # Usable afterwards: a small analysis runs to its end.
    res = zl.analyze_convexity(model, theta, quick=True, random_points=3, geodesic_points=3, search=False)
    assert len(res["points"]) == 1 + 1 + 3 + 3  # given, anchor, random, geodesic


def test_sigint_stops_the_trajectory_convexity(figure1):
    model, theta = figure1_model_and_minimum(figure1)
    start = time.monotonic()
    timer = sigint_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        zl.convexity_along_sgd(model, figure1["theta0"], lr=0.01, label_noise=0.5, steps=10**10, points=10**5)
    timer.join()
    assert time.monotonic() - start < 4.0


def test_a_progress_callback_can_stop_the_analysis(figure1):
    model, theta = figure1_model_and_minimum(figure1)
    lines = []

    def progress(line):
        lines.append(line)
        return not line.startswith("sampling")  # stop at the sampling stage

    with pytest.raises(zl.Interrupted, match="interrupted"):
        zl.analyze_convexity(model, theta, quick=True, progress=progress)
    assert any(line.startswith("point:") for line in lines) and lines[-1].startswith("sampling")
    assert issubclass(zl.Interrupted, zl.Error)


def test_sigint_stops_the_report(tmp_path):
    out = tmp_path / "report"
    start = time.monotonic()
    timer = sigint_after(1.5)
    with pytest.raises(KeyboardInterrupt):
        zl.run_report(str(out), quick=True, config={"claims": ["global_minimum", "flow_rate"]},
                      program=str(BINARY))
    timer.join()
    assert time.monotonic() - start < 15.0
    manifest = json.loads((out / ".zeroloss-run.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not (out / "summary.json").exists()

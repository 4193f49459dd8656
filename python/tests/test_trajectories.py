"""Trajectories: convexity along the flow and along SGD against `zeroloss convexity --along-flow
--along-sgd` on the same inputs, and LabelNoiseDynamics against the SGD run of `label_noise_sgd` and
against closed forms of the diagonal linear network (THEORY 9)."""
import numpy as np
import pandas as pd
import pytest

import zeroloss as zl
from conftest import run_cli


def close(python, cli, rtol=1e-12):
    python, cli = np.asarray(python, dtype=float), np.asarray(cli, dtype=float)
    scale = max(1.0, np.nanmax(np.abs(cli))) if cli.size else 1.0
    return python.shape == cli.shape and np.allclose(python, cli, rtol=rtol, atol=rtol * scale, equal_nan=True)


def test_convexity_along_trajectories_matches_the_command(figure1, tmp_path):
    run_cli("convexity", "--data", figure1["dir"] / "data.csv", "--trajectory-start", figure1["dir"] / "w0.csv",
            "--along-flow", 0.5, "--along-sgd", "--lr", 0.01, "--label-noise", 1, "--steps", 4000,
            "--trajectory-points", 8, "--quick", "--random", 2, "--geodesic", 2, "--no-search", "--seed", 3,
            "--no-figures", "--out", tmp_path / "cli")
    cli = pd.read_csv(tmp_path / "cli" / "trajectory_convexity.csv")
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    flow = zl.convexity_along_flow(model, figure1["theta0"], flow_time=0.5, points=8)
    sgd = zl.convexity_along_sgd(model, figure1["theta0"], lr=0.01, label_noise=1.0, steps=4000, seed=3, points=8)
    for ours, source in [(flow, "flow"), (sgd, "sgd")]:
        theirs = cli[cli["source"] == source]
        assert list(ours["table"].columns) == list(cli.columns)
        assert len(ours["table"]) == len(theirs) == 9
        for column in cli.columns[1:]:
            assert close(ours["table"][column], theirs[column]), (source, column)
        assert ours["completed"] and len(ours["theta"]) == 9
    # The states are on M and the table's T is theirs.
    last = flow["theta"][-1]
    assert model.max_residual(last) < 1e-8
    assert close(model.sharpness(last), flow["table"]["T"].iloc[-1], rtol=1e-10)
    # Another seed moves SGD elsewhere: the comparison can fail.
    other = zl.convexity_along_sgd(model, figure1["theta0"], lr=0.01, label_noise=1.0, steps=4000, seed=4, points=8)
    assert not close(other["table"]["T"], sgd["table"]["T"])


def test_two_layer_dynamics_sgd_is_the_runs_sgd(figure1):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    dyn = zl.LabelNoiseDynamics(model)
    ours = dyn.sgd(figure1["theta0"], lr=0.05, label_noise=0.5, steps=2000, seed=7, log_points=4,
                   projection="newton")
    run = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=2000, seed=7, log_points=4)
    # The same draws; the run works in reduced coordinates, the dynamics on the network as given.
    assert np.allclose(ours.theta[-1], run.weights, rtol=1e-9, atol=1e-9)
    assert list(ours.table["step"]) == list(run.trajectory["step"]) == [0, 500, 1000, 1500, 2000]
    assert np.allclose(ours.table["loss"], run.trajectory["loss"], rtol=1e-8, atol=1e-14)
    # THEORY 7's time scales.
    assert np.array_equal(ours.table["t"], 0.05**2 * ours.table["step"])
    assert np.allclose(ours.table["tau"], 0.5**2 / 4 * ours.table["t"], rtol=1e-15)
    assert ours.flow_coefficient == 0.5**2 / 4
    # T on M at the projections: the model's own geometry at those points.
    for k, x in enumerate(ours.projected):
        assert model.max_residual(x) < 1e-9
        assert close(ours.table["sharpness_on_M"][k], model.sharpness(x), rtol=1e-12)
        assert close(ours.table["grad_norm_on_M"][k], np.linalg.norm(model.riemannian_gradient(x)), rtol=1e-10)
    with pytest.raises(zl.InputError, match="^batch 9: the batch size"):
        dyn.sgd(figure1["theta0"], lr=0.05, label_noise=0.5, steps=10, batch=9)


def diagonal_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 4))
    y = rng.normal(size=2)
    return X, y, zl.DiagonalLinearModel(X, y), rng


def diagonal_sharpness(X, theta):
    """T = (1/n) sum_i ||grad f_i||^2 = (4/n) sum_k c_k (u_k^2 + v_k^2), c_k = sum_i x_ik^2 (THEORY 9)."""
    d = X.shape[1]
    u, v = theta[:d], theta[d:]
    return 4.0 / X.shape[0] * np.sum((X**2).sum(axis=0) * (u**2 + v**2))


def test_diagonal_dynamics_against_closed_forms():
    X, y, model, rng = diagonal_problem()
    dyn = zl.LabelNoiseDynamics(model)
    start = rng.normal(scale=0.7, size=8)
    point, moved = dyn.project(start, method="newton")
    d = X.shape[1]
    assert np.abs(X @ (point[:d]**2 - point[d:]**2) - y).max() < 1e-10  # on M: f = <u*u - v*v, x> = y
    assert np.isclose(moved, np.linalg.norm(point - start), rtol=1e-12)
    assert np.isclose(dyn.sharpness(point), diagonal_sharpness(X, point), rtol=1e-12)
    assert np.isclose(dyn.loss(start), 0.5 * np.mean((X @ (start[:d]**2 - start[d:]**2) - y)**2), rtol=1e-12)
    # The flow of T: tau = C t, T decreases, the states stay on M, the end is the model's sharpness flow.
    path = dyn.flow(point, t_end=2.0, coefficient=0.25, sample_times=[0.5, 1.0, 1.5])
    assert path["completed"] and path["t"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert np.allclose(path["tau"], 0.25 * np.array(path["t"]), rtol=1e-15)
    assert all(a > b for a, b in zip(path["sharpness"], path["sharpness"][1:]))
    for x, T in zip(path["theta"], path["sharpness"]):
        assert np.abs(X @ (x[:d]**2 - x[d:]**2) - y).max() < 1e-9
        assert np.isclose(T, diagonal_sharpness(X, x), rtol=1e-12)
    reference = zl.sharpness_flow(model, point, t_end=2.0, coefficient=0.25)
    assert np.allclose(path["theta"][-1], reference["final"], rtol=1e-10, atol=1e-12)
    # SGD with the projection of each logged iterate, T there against the closed form.
    run = dyn.sgd(point, lr=0.02, label_noise=0.5, steps=3000, seed=1, log_points=3, projection="gradient-flow")
    assert run.status == "completed" and list(run.table["step"]) == [0, 1000, 2000, 3000]
    for x, T in zip(run.projected, run.table["sharpness_on_M"]):
        assert np.isclose(T, diagonal_sharpness(X, x), rtol=1e-12)
    assert not np.allclose(run.theta[-1], point)  # it moved
    # Convexity along the flow of the diagonal network: the table's T is the closed form too.
    along = zl.convexity_along_flow(model, start, flow_time=0.5, points=4)
    for x, T in zip(along["theta"], along["table"]["T"]):
        assert np.isclose(T, diagonal_sharpness(X, np.ravel(x)), rtol=1e-12)

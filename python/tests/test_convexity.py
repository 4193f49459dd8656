"""Convexity diagnostics: the analysis against `zeroloss convexity` on the same inputs, the spectrum and
the geodesic derivatives against numpy routes, the threshold against the sampled table."""
import numpy as np
import pandas as pd
import pytest

import zeroloss as zl
from conftest import run_cli

# THEORY 6's example (docs/commands/convexity.md): n = 1, x = e_1, m = 3, cubic, a = 1.
X = np.array([[1.0]])
Y = np.array([47.311704])
POINT = np.array([[5.0], [0.58], [0.0]])


def close(python, cli):
    python, cli = np.asarray(python, dtype=float), np.asarray(cli, dtype=float)
    scale = max(1.0, np.nanmax(np.abs(cli))) if cli.size else 1.0
    return python.shape == cli.shape and np.allclose(python, cli, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


def test_analysis_matches_the_command(tmp_path):
    (tmp_path / "data.csv").write_text("x1,y\n1,47.311704\n")
    (tmp_path / "point.csv").write_text("w1\n5\n0.58\n0\n")
    run_cli("convexity", "--data", tmp_path / "data.csv", "--weights", tmp_path / "point.csv", "--quick",
            "--no-figures", "--out", tmp_path / "quick")
    model = zl.TwoLayerModel(X, Y, activation="cubic", m=3)
    res = zl.analyze_convexity(model, POINT, quick=True)
    cli_points = pd.read_csv(tmp_path / "quick" / "points.csv")
    assert list(res["points"].columns) == list(cli_points.columns)
    assert list(res["points"]["scheme"]) == list(cli_points["scheme"])
    for column in cli_points.columns[1:]:
        assert close(res["points"][column], cli_points[column]), column
    cli_search = pd.read_csv(tmp_path / "quick" / "search.csv")
    assert list(res["search"]["found_from"]) == list(cli_search["found_from"])
    for column in ["eps", "lambda_min", "grad_norm", "sharpness", "negative", "starts_used", "evaluations"]:
        assert close(res["search"][column], cli_search[column]), column
    spectrum = pd.read_csv(tmp_path / "quick" / "spectrum.csv")
    assert close(res["point"]["eigenvalues"], spectrum["eigenvalue"])
    directions = pd.read_csv(tmp_path / "quick" / "directions.csv")
    assert close([p["second_derivative"] for p in res["point"]["profiles"]], directions["second_derivative"])
    assert res["anchor"]["source"] == "minimizer" and res["threshold"]["negative_found"]


def tangent_basis(model, theta):
    _, _, Vt = np.linalg.svd(model.jacobian(theta))
    return Vt[model.num_samples:].T


@pytest.mark.parametrize("case", ["two_layer", "diagonal"])
def test_point_spectrum_and_derivatives_match_numpy(case):
    if case == "two_layer":
        model, theta = zl.TwoLayerModel(X, Y, activation="cubic", m=3), POINT
    else:
        rng = np.random.default_rng(3)
        model = zl.DiagonalLinearModel(rng.normal(size=(3, 6)), rng.normal(size=3))
        theta, _ = zl.project(model, rng.normal(size=12))
    res = zl.convexity_at_point(model, theta, directions=3)
    # Hess_M T on an orthonormal basis of ker J from numpy, assembled from Hessian-vector products.
    B = tangent_basis(model, theta)
    H = B.T @ np.column_stack([model.riemannian_hessian_apply(theta, b.reshape(theta.shape)).ravel() for b in B.T])
    expected = np.linalg.eigvalsh((H + H.T) / 2)
    assert np.allclose(res["eigenvalues"], expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    assert res["grad_norm"] == pytest.approx(np.linalg.norm(model.riemannian_gradient(theta)), rel=1e-12)
    assert len(res["profiles"]) == 4
    for p in res["profiles"]:
        v = p["velocity"]
        assert np.linalg.norm(v) == pytest.approx(1, rel=1e-12)
        hv = model.riemannian_hessian_apply(theta, v)
        assert p["second_derivative"] == pytest.approx(np.vdot(v, hv), rel=1e-9, abs=1e-9)
        assert p["first_derivative"] == pytest.approx(np.vdot(v, model.riemannian_gradient(theta)), rel=1e-9, abs=1e-12)
        # T along the geodesic: the value at s = 0 is T(theta), its curvature the Hessian form.
        s, T = np.array(p["s"]), np.array(p["sharpness"])
        assert T[np.argmin(np.abs(s))] == pytest.approx(model.sharpness(theta), rel=1e-12)
        assert p["second_derivative_fd"] == pytest.approx(p["second_derivative"], rel=1e-5, abs=1e-6)


def test_sampling_threshold_and_search():
    model = zl.TwoLayerModel(X, Y, activation="cubic", m=3)
    anchor = zl.optimum(model, POINT)["theta"]
    samples = zl.sample_convexity(model, anchor=anchor, random_points=30, geodesic_points=30, seed=4)
    table = samples.table
    assert len(samples) == len(table) == len(samples.theta)
    assert set(table["scheme"]) == {"anchor", "random", "geodesic"}
    for theta, T in zip(samples.theta, table["sharpness"]):
        assert model.max_residual(theta) < 1e-9 and model.sharpness(theta) == pytest.approx(T, rel=1e-12)
    # g* from the table, in pandas: the smallest gradient norm among the negative points.
    negative = table[table["negative"] == 1]
    assert len(negative) > 0
    assert samples.threshold["threshold"] == negative["grad_norm"].min()
    assert samples.threshold["points_below"] == int((table["grad_norm"] < negative["grad_norm"].min()).sum())
    found = zl.search_negative_curvature(model, samples, anchor=anchor, rungs=3, starts=2, barrier_stages=2,
                                         iterations_per_stage=10)
    rungs = found["search"]
    assert len(rungs) >= 3
    feasible = rungs[rungs["feasible_start"] == 1]
    assert (feasible["grad_norm"] <= feasible["eps"] * (1 + 1e-9)).all()
    assert ((feasible["lambda_min"] < 0) == (feasible["negative"] == 1)).all()


def test_convexity_errors():
    model = zl.TwoLayerModel(X, Y, activation="cubic", m=3)
    with pytest.raises(zl.InputError, match="not on the zero-loss manifold"):
        zl.convexity_at_point(model, POINT + 1)
    with pytest.raises(zl.InputError, match="theta"):
        zl.convexity_at_point(model, np.ones((2, 1)))

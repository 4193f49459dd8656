"""The geometry against independent numpy routes: closed forms, finite differences, projections."""
import numpy as np
import pytest

import zeroloss as zl
from conftest import read_csv, run_cli


@pytest.fixture(scope="module")
def model(figure1):
    return zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)


def fd_jacobian(model, Theta, h=1e-6):
    J = np.zeros((model.num_samples, Theta.size))
    for k in range(Theta.size):
        E = np.zeros(Theta.size)
        E[k] = h
        E = E.reshape(Theta.shape)
        J[:, k] = (model.outputs(Theta + E) - model.outputs(Theta - E)) / (2 * h)
    return J


def test_outputs_and_sharpness_match_numpy(model, figure1):
    X, Theta = figure1["X"], figure1["theta0"]
    J = model.jacobian(Theta)
    assert np.allclose(J, fd_jacobian(model, Theta), rtol=1e-7, atol=1e-8)
    # T = (1/n) sum_i ||grad f_i||^2, from the Jacobian's rows.
    assert model.sharpness(Theta) == pytest.approx(np.sum(J * J) / X.shape[0], rel=1e-12)


def test_sharpness_gradient_matches_finite_differences(model, figure1):
    Theta = figure1["theta0"]
    g = model.sharpness_gradient(Theta)
    h = 1e-6
    fd = np.zeros_like(Theta)
    for idx in np.ndindex(Theta.shape):
        E = np.zeros_like(Theta)
        E[idx] = h
        fd[idx] = (model.sharpness(Theta + E) - model.sharpness(Theta - E)) / (2 * h)
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-7)
    # Hess T v against differences of grad T.
    v = np.random.default_rng(1).normal(size=Theta.shape)
    hv = model.sharpness_hessian_apply(Theta, v)
    fd_hv = (model.sharpness_gradient(Theta + h * v) - model.sharpness_gradient(Theta - h * v)) / (2 * h)
    assert np.allclose(hv, fd_hv, rtol=1e-6, atol=1e-6)


def test_projection_and_riemannian_gradient(model, figure1):
    on_m, summary = zl.project(model, figure1["theta0"], method="newton")
    assert summary["converged"]
    assert model.max_residual(on_m) < 1e-12
    assert np.allclose(model.outputs(on_m), figure1["y"], atol=1e-12)
    # grad_M T = (I - J^T (J J^T)^-1 J) grad T, in numpy.
    J = model.jacobian(on_m)
    g = model.sharpness_gradient(on_m).ravel()
    expected = g - J.T @ np.linalg.solve(J @ J.T, J @ g)
    assert np.allclose(model.riemannian_gradient(on_m).ravel(), expected, rtol=1e-10, atol=1e-12)
    nearest, s = zl.project(model, figure1["theta0"], method="nearest")
    assert model.max_residual(nearest) < 1e-12
    # The metric projection moves no farther than the Newton projection.
    assert np.linalg.norm(nearest - figure1["theta0"]) <= np.linalg.norm(on_m - figure1["theta0"]) + 1e-12


def test_hessian_extremes_match_the_tangent_matrix(model, figure1):
    on_m, _ = zl.project(model, figure1["theta0"])
    J = model.jacobian(on_m)
    # An orthonormal tangent basis from numpy's SVD, and the Riemannian Hessian on it from the HVPs.
    _, _, Vt = np.linalg.svd(J)
    B = Vt[J.shape[0]:].T
    H = np.column_stack([model.riemannian_hessian_apply(on_m, b.reshape(on_m.shape)).ravel() for b in B.T])
    Ht = B.T @ H
    assert np.allclose(Ht, Ht.T, atol=1e-10)
    eig = np.linalg.eigvalsh((Ht + Ht.T) / 2)
    ext = model.riemannian_hessian_extremes(on_m, k=2)
    assert ext["tangent_dimension"] == B.shape[1]
    assert np.allclose(ext["smallest"], eig[:2], rtol=1e-9, atol=1e-9)
    assert np.allclose(ext["largest"], eig[::-1][:2], rtol=1e-9, atol=1e-9)


def test_optimum_matches_the_cli(model, figure1, tmp_path):
    opt = zl.optimum(model, figure1["theta0"])
    assert opt["closed_form"] and opt["kind"] == "global minimum"
    run_cli("optimum", "--data", figure1["dir"] / "data.csv", "--weights", figure1["dir"] / "w0.csv",
            "--out", tmp_path / "opt.csv")
    _, w = read_csv(tmp_path / "opt.csv")
    assert np.array_equal(opt["theta"], w[:, :-1])
    assert opt["sharpness"] == pytest.approx(model.sharpness(opt["theta"]), rel=1e-12)
    assert np.linalg.norm(model.riemannian_gradient(opt["theta"])) < 1e-8


def test_diagonal_linear_model_optimum():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 6))
    y = rng.normal(size=3)
    model = zl.DiagonalLinearModel(X, y)
    theta = rng.normal(size=12)
    u, v = theta[:6], theta[6:]
    assert np.allclose(model.outputs(theta), X @ (u * u - v * v), rtol=1e-14, atol=1e-14)
    # T = (1/n) sum_i ||grad f_i||^2 with grad_u f_i = 2 x_i o u, grad_v f_i = -2 x_i o v.
    T = np.sum(4 * (X**2) @ (u * u + v * v)) / 3
    assert model.sharpness(theta) == pytest.approx(T, rel=1e-12)
    opt = zl.optimum(model, theta)
    w = opt["w"]
    assert np.allclose(X @ w, y, atol=1e-10)
    c = np.sum(X**2, axis=0)
    assert opt["sharpness"] == pytest.approx(4 / 3 * np.sum(c * np.abs(w)), rel=1e-10)
    assert model.sharpness(opt["theta"]) == pytest.approx(opt["sharpness"], rel=1e-8)


def test_flow_decreases_sharpness_and_calls_back(model, figure1):
    seen = []
    start, _ = zl.project(model, figure1["theta0"])
    res = zl.sharpness_flow(model, start, t_end=0.05, sample_times=[0.01, 0.02],
                            callback=lambda t, theta, T, g: seen.append((t, T)))
    assert res["completed"]
    assert [t for t, _ in seen] == res["t"]
    assert res["t"][0] == 0 and res["t"][-1] == pytest.approx(0.05)
    assert all(b < a for a, b in zip(res["sharpness"], res["sharpness"][1:]))
    assert model.max_residual(res["final"]) < 1e-9


def test_flow_callback_exception_stops_and_keeps_samples(model, figure1):
    def stop(t, theta, T, g):
        if t > 0:
            raise KeyboardInterrupt

    start, _ = zl.project(model, figure1["theta0"])
    with pytest.raises(KeyboardInterrupt):
        zl.sharpness_flow(model, start, t_end=10.0, sample_times=[0.01, 5.0], callback=stop)
    assert zl.last_result["t"][:2] == [0.0, 0.01]
    assert zl.last_result["t_reached"] < 10.0


def test_errors_map_to_python_exceptions(figure1):
    assert issubclass(zl.InputError, ValueError) and issubclass(zl.InputError, zl.Error)
    assert issubclass(zl.Error, RuntimeError)
    with pytest.raises(zl.InputError, match="activation"):
        zl.TwoLayerModel(figure1["X"], figure1["y"], activation="relu", m=2)
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], m=10)
    with pytest.raises(ValueError, match="theta"):
        model.sharpness(np.ones((10, 2)))
    with pytest.raises(ValueError, match="theta"):
        model.sharpness(np.full((10, 3), np.nan))
    with pytest.raises(zl.InputError):
        zl.project(model, figure1["theta0"], method="sideways")
    # A projection that cannot converge in one iteration: a library error, not an input error.
    with pytest.raises(zl.Error) as info:
        zl.project(model, figure1["theta0"], max_iterations=1)
    assert not isinstance(info.value, ValueError)

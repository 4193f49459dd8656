"""Geodesics of M: invariants of the exact geodesic, an independent integrator (RATTLE, Richardson
extrapolated), and exp / log as inverses."""
import numpy as np
import pytest

import zeroloss as zl


def tangent(model, theta, w):
    """w projected onto T_theta M = ker J, in numpy."""
    J = model.jacobian(theta)
    flat = w.ravel()
    return (flat - J.T @ np.linalg.solve(J @ J.T, J @ flat)).reshape(w.shape)


@pytest.fixture(scope="module")
def two_layer(figure1):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    on_m, _ = zl.project(model, figure1["theta0"])
    v = tangent(model, on_m, np.random.default_rng(5).normal(size=on_m.shape))
    return model, on_m, 0.3 * v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def diagonal():
    rng = np.random.default_rng(3)
    model = zl.DiagonalLinearModel(rng.normal(size=(3, 6)), rng.normal(size=3))
    on_m, _ = zl.project(model, rng.normal(size=12))
    v = tangent(model, on_m, rng.normal(size=12))
    return model, on_m, 0.3 * v / np.linalg.norm(v)


def richardson_rattle(model, theta, v, s, h):
    """RATTLE is symmetric, so its error has only even powers of h: (4 E(h/2) - E(h)) / 3 is O(h^4)."""
    coarse = zl.geodesic(model, theta, v, [s], method="rattle", rattle_step=h)["theta"][0]
    fine = zl.geodesic(model, theta, v, [s], method="rattle", rattle_step=h / 2)["theta"][0]
    return (4 * fine - coarse) / 3, np.linalg.norm(fine - coarse)


@pytest.mark.parametrize("case", ["two_layer", "diagonal"])
def test_geodesic_invariants_and_rattle(case, request):
    model, theta, v = request.getfixturevalue(case)
    path = zl.geodesic(model, theta, v, [0.5, 1.0])
    assert path["s"] == [0.5, 1.0]
    for point, velocity in zip(path["theta"], path["velocity"]):
        assert model.max_residual(point) < 1e-11                       # f(gamma) = y
        assert np.linalg.norm(velocity) == pytest.approx(np.linalg.norm(v), rel=1e-9)  # constant speed
        J = model.jacobian(point)
        assert np.linalg.norm(J @ velocity.ravel()) < 1e-9 * np.linalg.norm(J) * np.linalg.norm(v)
    end = path["theta"][1]
    # The geodesic really moves (the comparison below could fail) and is not the straight line.
    assert np.linalg.norm(end - theta) > 0.2 and np.linalg.norm(end - (theta + v)) > 1e-6
    extrapolated, difference = richardson_rattle(model, theta, v, 1.0, 0.02)
    assert difference > 1e-8  # RATTLE's own error (~1e-7 here) is visible at these steps ...
    assert np.allclose(extrapolated, end, rtol=0, atol=1e-12 * max(1, np.abs(end).max()))  # ... and cancels
    assert np.array_equal(zl.exponential_map(model, theta, v), zl.geodesic(model, theta, v, [1.0])["theta"][0])


def test_logarithm_inverts_the_exponential(two_layer):
    model, theta, v = two_layer
    y = zl.exponential_map(model, theta, v)
    log = zl.logarithm_map(model, theta, y)
    assert log["mismatch"] <= 1e-9 * max(1, np.linalg.norm(y))
    assert np.allclose(log["velocity"], v, rtol=0, atol=1e-8)
    assert log["length"] == pytest.approx(np.linalg.norm(v), rel=1e-8)
    assert log["length"] >= np.linalg.norm(y - theta)  # never shorter than the chord


def test_geodesic_errors(two_layer, diagonal):
    model, theta, v = two_layer
    with pytest.raises(zl.InputError, match="not on the zero-loss manifold"):
        zl.geodesic(model, theta + 0.1, v, [1.0])
    with pytest.raises(zl.InputError, match="not tangent"):
        zl.geodesic(model, theta, np.ones_like(theta), [1.0])
    with pytest.raises(zl.InputError, match="method"):
        zl.geodesic(model, theta, v, [1.0], method="euler")
    dmodel, dtheta, dv = diagonal
    with pytest.raises(zl.InputError, match="not on the zero-loss manifold"):
        zl.geodesic(dmodel, dtheta + 0.1, dv, [1.0])
    with pytest.raises(zl.InputError, match="TwoLayerModel"):
        zl.logarithm_map(dmodel, dtheta, dtheta)

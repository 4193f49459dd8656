"""label_noise_sgd against `zeroloss sgd`: the same seed gives the same bits."""
import threading
import os
import signal

import numpy as np
import pytest

import zeroloss as zl
from conftest import read_csv, run_cli


def cli_sgd(fig, out, *extra):
    run_cli("sgd", "--data", fig["dir"] / "data.csv", "--weights", fig["dir"] / "w0.csv", "--no-figures",
            "--out", out, *extra)
    _, weights = read_csv(out / "final_weights.csv")
    header, trajectory = read_csv(out / "trajectory.csv")
    return weights[:, :-1], header, trajectory  # final_weights.csv: w1..wd, a


@pytest.mark.parametrize("batch,noise", [(1, "gaussian"), (2, "rademacher")])
def test_sgd_weights_and_trajectory_are_the_cli_bits(figure1, tmp_path, batch, noise):
    cli_weights, header, cli_traj = cli_sgd(figure1, tmp_path / "cli", "--lr", 0.05, "--label-noise", 0.5,
                                            "--batch", batch, "--noise", noise, "--steps", 20000,
                                            "--seed", 7, "--log-every", 1000)
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    res = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, batch=batch, noise=noise,
                             steps=20000, seed=7, log_every=1000)
    assert res.status == "completed" and res.steps_done == 20000
    assert res.weights.shape == (10, 3)
    assert np.array_equal(res.weights, cli_weights)  # bit for bit
    assert list(res.trajectory.columns) == header
    assert np.array_equal(res.trajectory.to_numpy(), cli_traj, equal_nan=True)
    # A different seed moves differently: the comparison above can fail.
    other = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, batch=batch, noise=noise,
                               steps=20000, seed=8, log_every=1000)
    assert not np.array_equal(other.weights, cli_weights)


def test_sgd_ensemble_seeds_equal_single_runs(figure1):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    ens = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=5000, seeds=[3, 4], threads=2)
    assert [s.seed for s in ens.seeds] == [3, 4]
    for s in ens.seeds:
        one = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=5000, seed=s.seed)
        assert np.array_equal(one.weights, s.weights)
    assert len(ens.trajectory) > 0


def test_sgd_keeps_its_folder_and_the_cli_resumes_it(figure1, tmp_path):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    res = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=3000, seed=1,
                             out=str(tmp_path / "run"))
    assert (tmp_path / "run" / "run.json").exists()
    _, w = read_csv(tmp_path / "run" / "final_weights.csv")
    assert np.array_equal(w[:, :-1], res.weights)


def test_progress_callback_interrupt_keeps_the_state(figure1):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    calls = []

    def progress(done):
        calls.append(done)
        raise KeyboardInterrupt

    zl.last_result = None
    with pytest.raises(KeyboardInterrupt):
        zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=10**12, seed=1,
                           progress=progress)
    assert len(calls) == 1
    partial = zl.last_result
    assert partial.status == "interrupted"
    assert 0 < partial.steps_done < 10**12
    assert os.path.exists(os.path.join(partial.dir, "checkpoint.json"))


def test_sigint_interrupts_sgd(figure1):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=10**12, seed=1)
    timer.join()
    assert zl.last_result.status == "interrupted"


def test_sgd_needs_a_two_layer_model():
    X = np.eye(2)
    with pytest.raises(zl.InputError, match="TwoLayerModel"):
        zl.label_noise_sgd(zl.DiagonalLinearModel(X, np.ones(2)), np.ones(4), lr=0.1, label_noise=0.1, steps=10)

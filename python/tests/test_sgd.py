"""label_noise_sgd against `zeroloss sgd`: the same seed gives the same bits."""
import os
import signal
import subprocess
import threading

import numpy as np
import pytest

import zeroloss as zl
from conftest import BINARY, read_csv, run_cli


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


def test_sgd_writes_no_file_without_a_folder(figure1, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    res = zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=2000, seed=1)
    assert res.dir is None and res.weights.shape == (10, 3)
    assert list(tmp_path.iterdir()) == []


def interrupt_at_first_report(done):
    raise KeyboardInterrupt


def test_sgd_folder_checkpoint_and_resume_give_the_uninterrupted_bits(figure1, tmp_path):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    args = dict(lr=0.05, label_noise=0.5, steps=300000, seed=1, log_every=10000)
    whole = zl.label_noise_sgd(model, figure1["theta0"], **args)
    # Interrupted in Python, resumed in Python.
    with pytest.raises(KeyboardInterrupt):
        zl.label_noise_sgd(model, figure1["theta0"], out=str(tmp_path / "run"), progress=interrupt_at_first_report,
                           **args)
    partial = zl.last_result
    assert partial.status == "interrupted" and 0 < partial.steps_done < 300000
    assert partial.weights.shape == (10, 3) and np.all(np.isfinite(partial.weights))
    assert (tmp_path / "run" / "checkpoint.json").exists()
    assert (tmp_path / "run" / "inputs" / "data.csv").exists()
    resumed = zl.resume_label_noise_sgd(str(tmp_path / "run"))
    assert resumed.status == "completed" and resumed.steps_done == 300000
    assert np.array_equal(resumed.weights, whole.weights)
    assert np.array_equal(resumed.trajectory.to_numpy(), whole.trajectory.to_numpy(), equal_nan=True)
    # Interrupted in Python, resumed by the command line.
    with pytest.raises(KeyboardInterrupt):
        zl.label_noise_sgd(model, figure1["theta0"], out=str(tmp_path / "run2"), progress=interrupt_at_first_report,
                           **args)
    run_cli("sgd", "--resume", tmp_path / "run2")
    _, w = read_csv(tmp_path / "run2" / "final_weights.csv")
    assert np.array_equal(w[:, :-1], whole.weights)


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
    assert partial.dir is None and partial.weights.shape == (10, 3)
    assert not np.array_equal(partial.weights, figure1["theta0"])


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


def test_sgd_inputs_are_validated_like_files(figure1, tmp_path):
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    with pytest.raises(zl.InputError, match="weights Theta: 2 weight columns per neuron, but the data X has d = 3"):
        zl.label_noise_sgd(model, figure1["theta0"][:, :2], lr=0.05, label_noise=0.5, steps=10)
    with pytest.raises(zl.InputError, match="^steps must be at least 1$"):
        zl.label_noise_sgd(model, figure1["theta0"], lr=0.05, label_noise=0.5, steps=0)
    # The message of a weight that overflows ||theta_j||^2 is the file's, naming the quantity instead.
    theta = figure1["theta0"].copy()
    theta[2, 0] = 1e300
    weights = tmp_path / "big.csv"
    np.savetxt(weights, np.column_stack([theta, np.ones(10)]), delimiter=",", header="w1,w2,w3,a", comments="",
               fmt="%.17g")
    cli = subprocess.run([str(BINARY), "sgd", "--data", figure1["dir"] / "data.csv", "--weights", weights, "--steps",
                          "10", "--lr", "0.05", "--label-noise", "0.5", "--out", tmp_path / "out"],
                         capture_output=True, text=True)
    assert cli.returncode != 0
    with pytest.raises(zl.InputError) as info:
        zl.label_noise_sgd(model, theta, lr=0.05, label_noise=0.5, steps=10)
    message = str(info.value)
    assert message.startswith("weights Theta, neuron 3 (row 3), column 1: theta = 1e+300")
    assert message.replace("weights Theta", str(weights)) in cli.stderr


def test_option_errors_name_the_keyword_arguments(figure1):
    """The checks of `zeroloss sgd`'s options, naming the keywords (the CLI names its flags)."""
    model = zl.TwoLayerModel(figure1["X"], figure1["y"], activation="cubic", m=10)
    run = lambda **kw: zl.label_noise_sgd(model, figure1["theta0"], **{"lr": 0.05, "label_noise": 0.5,
                                                                         "steps": 10, **kw})
    cases = [({"lr": -1.0}, "lr -1: expected a finite step size eta > 0", "--lr"),
             ({"label_noise": float("nan")}, "label_noise nan: expected a finite scale s >= 0", "--label-noise"),
             ({"batch": 4}, "batch 4: the batch size must satisfy 1 <= B <= n = 3", "--batch"),
             ({"log_points": 0}, "log_points must be at least 1", "--log-points"),
             ({"lr": 1e-200}, "lr 1e-200 with steps 10: eta^2 = 0 underflows", "--lr 1e-200 with --steps 10")]
    for kw, message, flag_text in cases:
        with pytest.raises(zl.InputError) as info:
            run(**kw)
        assert message in str(info.value), (kw, str(info.value))
        assert "--" not in str(info.value)
        # The command line's message for the same value names the flag.
        cli_args = ["sgd", "--data", figure1["dir"] / "data.csv", "--weights", figure1["dir"] / "w0.csv",
                    "--out", "/nonexistent/never-written", "--lr", 0.05, "--label-noise", 0.5, "--steps", 10]
        for key, value in kw.items():
            flag = "--" + key.replace("_", "-")
            if flag in cli_args:
                cli_args[cli_args.index(flag) + 1] = value
            else:
                cli_args += [flag, value]
        cli = subprocess.run([str(BINARY), *map(str, cli_args)], capture_output=True, text=True)
        assert cli.returncode != 0 and flag_text in cli.stderr, cli.stderr

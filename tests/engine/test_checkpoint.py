"""Checkpoints: a resumed run is bit-identical to one that never stopped; bad files are refused."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from nn import cli
from nn.checkpoint import checkpoint_arrays, load_checkpoint, save_checkpoint
from nn.config import TrainConfig
from nn.model_io import ModelFileError, load_model
from nn.trainer import Trainer

CONFIGS = {
    "adam": TrainConfig(hidden=(24,), activation="relu", optimizer="adam", lr=0.003, batch_size=100,
                        epochs=1.0, iterations=None, seed=3),
    "momentum": TrainConfig(hidden=(16, 12), activation="tanh", optimizer="momentum", lr=0.05, momentum=0.8,
                            batch_size=64, epochs=1.0, iterations=None, seed=5),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_resume_mid_epoch_is_bit_identical(small_mnist, tmp_path, name):
    config = CONFIGS[name]
    straight = Trainer(small_mnist, config)
    straight.set_pins([1, 2])
    straight.run(max_steps=45)

    first = Trainer(small_mnist, config)
    first.set_pins([1, 2])
    first.run(max_steps=17)  # stops mid-epoch: the data order and position must survive
    first.set_lr(config.lr)  # setting the current value changes nothing
    save_checkpoint(tmp_path / "c.npz", first)
    resumed, meta = load_checkpoint(tmp_path / "c.npz", small_mnist)
    assert meta["step"] == 17 and resumed.step_count == 17
    resumed.run(max_steps=28)

    for a, b in zip(straight.net.params, resumed.net.params):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(straight.optimizer.state().values(), resumed.optimizer.state().values()):
        np.testing.assert_array_equal(a, b)
    assert resumed.samples_seen == straight.samples_seen
    np.testing.assert_array_equal(straight.train_history.curve().loss, resumed.train_history.curve().loss)
    assert resumed.pins == (1, 2)


def test_live_changes_and_events_are_kept(small_mnist, tmp_path):
    trainer = Trainer(small_mnist, CONFIGS["adam"])
    trainer.run(max_steps=5)
    trainer.set_lr(0.001)
    trainer.set_batch_size(50)
    save_checkpoint(tmp_path / "c.npz", trainer)
    resumed, _ = load_checkpoint(tmp_path / "c.npz", small_mnist)
    assert resumed.config.lr == 0.001 and resumed.config.batch_size == 50
    assert [e.text for e in resumed.events] == ["lr 0.003 -> 0.001", "batch 100 -> 50"]


def test_checkpoint_for_other_data_is_refused(small_mnist, mnist, tmp_path):
    trainer = Trainer(small_mnist, CONFIGS["adam"])
    save_checkpoint(tmp_path / "c.npz", trainer)
    with pytest.raises(ModelFileError, match="other data"):
        load_checkpoint(tmp_path / "c.npz", mnist.subset(2000, 500))


def test_damaged_checkpoints_are_refused_clearly(small_mnist, tmp_path):
    trainer = Trainer(small_mnist, CONFIGS["adam"])
    trainer.run(max_steps=3)
    arrays = checkpoint_arrays(trainer)
    broken = dict(arrays)
    del broken["opt_scaled_first_moment_0"]
    np.savez(tmp_path / "missing.npz", **broken)
    with pytest.raises(ModelFileError, match="missing.npz.*optimiser state"):
        load_checkpoint(tmp_path / "missing.npz", small_mnist)
    broken = dict(arrays, W1=np.zeros((3, 3), np.float32))
    np.savez(tmp_path / "shape.npz", **broken)
    with pytest.raises(ModelFileError, match="shape.npz.*'W1' has shape"):
        load_checkpoint(tmp_path / "shape.npz", small_mnist)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "shape.npz").read_bytes()[:500])
    with pytest.raises(ModelFileError, match="cut.npz"):
        load_checkpoint(tmp_path / "cut.npz", small_mnist)
    with pytest.raises(ModelFileError, match="format"):  # a model is not a session
        from nn.model_io import save_model
        save_model(tmp_path / "model.npz", trainer.net)
        load_checkpoint(tmp_path / "model.npz", small_mnist)


def test_cli_resume_equals_straight_run(small_mnist_dir, tmp_path):
    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(["train", "--preset", "fast", "--hidden", "32", "--data-dir", str(small_mnist_dir),
                         "--quiet", *argv] if "--resume" not in argv else
                        ["train", "--data-dir", str(small_mnist_dir), "--quiet", *argv], out, err)
        assert code == 0, err.getvalue()
        return out.getvalue().splitlines()[-2:]

    straight = run("--epochs", "2", "--save", str(tmp_path / "a.npz"))
    run("--epochs", "1", "--save-checkpoint", str(tmp_path / "c.npz"))
    resumed = run("--resume", str(tmp_path / "c.npz"), "--epochs", "2", "--save", str(tmp_path / "b.npz"))
    assert straight == resumed
    a, meta_a = load_model(tmp_path / "a.npz")
    b, meta_b = load_model(tmp_path / "b.npz")
    for x, y in zip(a.params, b.params):
        np.testing.assert_array_equal(x, y)
    assert meta_a["metrics"] == meta_b["metrics"]


def test_cli_resume_refuses_structural_changes(small_mnist_dir, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["train", "--preset", "fast", "--hidden", "8", "--iterations", "3", "--quiet",
                     "--data-dir", str(small_mnist_dir), "--save-checkpoint", str(tmp_path / "c.npz")], out, err) == 0
    code = cli.main(["train", "--resume", str(tmp_path / "c.npz"), "--hidden", "9",
                     "--data-dir", str(small_mnist_dir)], out, err)
    assert code == 2 and "cannot change when resuming" in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1


def test_meta_is_plain_json(small_mnist, tmp_path):
    trainer = Trainer(small_mnist, CONFIGS["adam"])
    save_checkpoint(tmp_path / "c.npz", trainer)
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    assert meta["format"] == "softmax-visualizer-checkpoint" and meta["config"]["optimizer"] == "adam"


def test_sessions_keep_drawn_pins_and_extra_arrays(small_mnist, tmp_path):
    from nn.checkpoint import load_session
    from nn.runs import record_from_trainer, runs_from_arrays, runs_to_arrays

    earlier = Trainer(small_mnist, CONFIGS["adam"])
    earlier.run(max_steps=4)
    trainer = Trainer(small_mnist, CONFIGS["adam"].replace(lr=0.01))
    trainer.run(max_steps=2)
    trainer.evaluate_test()
    trainer.pin_drawn(small_mnist.test_x[3], 5)
    trainer.run(max_steps=2)
    trainer.evaluate_test()
    arrays, runs_meta = runs_to_arrays([record_from_trainer(earlier, "baseline")])
    save_checkpoint(tmp_path / "s.npz", trainer, {"runs": runs_meta}, arrays)
    restored, meta, extra = load_session(tmp_path / "s.npz", small_mnist)
    pin, saved = restored.snapshot().pins[-1], trainer.snapshot().pins[-1]
    assert pin.index == -1 and pin.label == 5 and len(pin.samples) >= 2
    np.testing.assert_array_equal(pin.samples, saved.samples)  # (as many as test evaluations since pinning)
    np.testing.assert_array_equal(pin.true_class_prob, saved.true_class_prob)
    np.testing.assert_array_equal(pin.image, small_mnist.test_x[3])
    (run,) = runs_from_arrays(extra, meta["runs"])
    assert run.name == "baseline" and run.steps == 4 and run.config == CONFIGS["adam"]
    np.testing.assert_array_equal(run.train_curve.loss, earlier.train_history.curve().loss)


def test_sessions_saved_with_unscaled_adam_moments_still_load(small_mnist, tmp_path):
    """Older files hold Adam's m and v themselves; they load as the same moments."""
    trainer = Trainer(small_mnist, CONFIGS["adam"])
    trainer.run(max_steps=3)
    arrays = checkpoint_arrays(trainer)
    legacy = {}
    for name, value in arrays.items():
        if name.startswith("opt_scaled_first_moment_"):
            name, value = name.replace("scaled_", ""), value * (1 - trainer.optimizer.beta1)
        elif name.startswith("opt_scaled_second_moment_"):
            name, value = name.replace("scaled_", ""), value * (1 - trainer.optimizer.beta2)
        legacy[name] = value
    np.savez(tmp_path / "legacy.npz", **legacy)
    resumed, _ = load_checkpoint(tmp_path / "legacy.npz", small_mnist)
    for a, b in zip(trainer.optimizer.first_moments, resumed.optimizer.first_moments):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)
    for a, b in zip(trainer.optimizer.second_moments, resumed.optimizer.second_moments):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-15)

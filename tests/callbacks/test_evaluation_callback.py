"""Tests of kgan.callbacks.EvaluationCallback: FID/KID during fit and the best generator."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.callbacks import EvaluationCallback


def _tensorboard_scalars(log_dir):
    """`{tag: [(step, value), ...]}` of the scalar summaries in the event files of `log_dir`."""
    found = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalar = float(tf.make_ndarray(value.tensor))
                found.setdefault(value.tag, []).append((event.step, scalar))
    return found


def test_evaluation_callback_logs_fid_and_keeps_the_best_generator(
    tmp_path, toy_gan, square_data, toy_dataset
):
    gan = toy_gan(g_learning_rate=1e-3)
    points = square_data(1500)
    best_path = str(tmp_path / "best.keras")
    evaluation = EvaluationCallback(
        points[1000:],
        num_samples=500,
        every_n_epochs=1,
        save_best_path=best_path,
        tensorboard_dir=tmp_path / "tb",
    )
    history = gan.fit(toy_dataset(points[:1000]), epochs=4, verbose=0, callbacks=[evaluation])
    fids = history.history["fid"]
    assert len(fids) == 4 and len(history.history["kid"]) == 4
    assert evaluation.best_fid == min(fids) and evaluation.best_epoch == 1 + int(np.argmin(fids))
    # The FID is the one of the model's samples for the fixed seed, in raw 2-D coordinates.
    best = keras.saving.load_model(best_path)
    expected = kgan.metrics.frechet_distance(points[1000:], best.generate(500, seed=0))
    assert expected == pytest.approx(evaluation.best_fid, rel=1e-6)
    # The same values are TensorBoard scalars, one per epoch.
    scalars = _tensorboard_scalars(tmp_path / "tb")
    assert sorted(scalars) == ["evaluation/fid", "evaluation/kid", "evaluation/kid_std"]
    for name in ("fid", "kid", "kid_std"):
        steps, values = zip(*scalars[f"evaluation/{name}"])
        assert steps == (1, 2, 3, 4)
        np.testing.assert_allclose(values, history.history[name], rtol=1e-6)


class _Record(keras.callbacks.Callback):
    """Keeps the model's weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([np.array(w) for w in self.model.get_weights()])


class _SpoilLastEpoch(keras.callbacks.Callback):
    """Shifts every generator weight by 5 at the end of the last epoch, before the evaluation,
    so that the last epoch has the worst FID."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            generator = self.model.generator
            generator.set_weights([w + 5.0 for w in generator.get_weights()])


def test_evaluation_callback_restores_the_best_weights(toy_gan, square_data, toy_dataset):
    gan = toy_gan(g_learning_rate=1e-3)
    points = square_data(1200)
    evaluation = EvaluationCallback(points[1000:], kid=False, restore_best_weights=True)
    record = _Record()
    gan.fit(
        toy_dataset(points[:1000]),
        epochs=3,
        verbose=0,
        callbacks=[record, _SpoilLastEpoch(3), evaluation],
    )
    fids = [result["fid"] for result in evaluation.results]
    assert evaluation.best_epoch in (1, 2) and fids[2] > 10 * evaluation.best_fid
    # The weights are the best epoch's, not the last epoch's.
    for expected, actual in zip(record.weights[evaluation.best_epoch - 1], gan.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    assert kgan.metrics.frechet_distance(points[1000:], gan.generate(200, seed=0)) == (
        pytest.approx(evaluation.best_fid, rel=1e-6)
    )


@pytest.mark.parametrize(
    "options, error, received",
    [
        ({"num_samples": 1}, ValueError, "num_samples=1"),
        ({"feature_extractor": "vgg"}, TypeError, "feature_extractor='vgg' of type str"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"restore_best_weights": "yes"}, ValueError, "restore_best_weights='yes'"),
        ({"kid": None}, ValueError, "kid=None"),
    ],
)
def test_evaluation_callback_checks_its_arguments(options, error, received):
    with pytest.raises(error, match=f"Received: {received}"):
        EvaluationCallback(np.zeros((4, 2), "float32"), **options)


def test_evaluation_callback_checks_shapes_against_the_model_at_the_start(toy_gan):
    gan = toy_gan()  # samples of shape (2,)
    evaluation = EvaluationCallback(np.zeros((4, 3), "float32"))
    evaluation.set_model(gan)
    with pytest.raises(ValueError, match=r"\(2,\). Received: real_samples of shape \(4, 3\)"):
        evaluation.on_train_begin()
    features = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="features")
    evaluation = EvaluationCallback(np.zeros((4, 2), "float32"), feature_extractor=features)
    evaluation.set_model(gan)
    with pytest.raises(ValueError, match="Received: feature_extractor='features'"):
        evaluation.on_train_begin()

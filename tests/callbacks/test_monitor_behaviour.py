"""`TrainingMonitor`'s promises, driven through its Keras hooks: step-level checks every
`every_n_steps` steps, stopping on any issue named in `stop_on`, one warning per appearance of an
issue, and mode collapse measured against real samples."""

import warnings

import numpy as np
import pytest

from kgan.callbacks import TrainingHealthWarning, TrainingMonitor

HEALTHY = {"d_loss": 1.35, "g_loss": 0.72, "d_real": 0.52, "d_fake": 0.48}
COLLAPSED = {"d_loss": 0.01, "g_loss": 6.0, "d_real": 0.99, "d_fake": 0.01}


class _Model:
    """What the monitor needs of a model when no diversity check runs."""

    stop_training = False


def _monitor(model=None, **kwargs):
    monitor = TrainingMonitor(num_diversity_samples=0, verbose=0, **kwargs)
    monitor.set_model(model or _Model())
    monitor.on_train_begin()
    return monitor


def _health_warnings(caught):
    return [w for w in caught if issubclass(w.category, TrainingHealthWarning)]


def test_step_level_checks_run_every_n_steps():
    monitor = _monitor(every_n_steps=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor.on_epoch_begin(0)
        monitor.on_train_batch_end(0, COLLAPSED)
        monitor.on_train_batch_end(1, COLLAPSED)
        assert monitor.events == []  # Steps 1 and 2 are not checked ...
        monitor.on_train_batch_end(2, COLLAPSED)  # ... step 3 is.
        for batch in range(3, 9):
            monitor.on_train_batch_end(batch, COLLAPSED)  # Still active: reported once.
    assert [(e.issue, e.epoch, e.step) for e in monitor.events] == [
        ("discriminator_collapse", 1, 3)
    ]
    assert len(_health_warnings(caught)) == 1
    assert "[discriminator_collapse] epoch 1, step 3" in str(caught[0].message)


def test_without_every_n_steps_only_epoch_ends_are_checked():
    monitor = _monitor()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        monitor.on_epoch_begin(0)
        for batch in range(10):
            monitor.on_train_batch_end(batch, COLLAPSED)
        assert monitor.events == [] and _health_warnings(caught) == []
        monitor.on_epoch_end(0, COLLAPSED)
    assert [(e.issue, e.step) for e in monitor.events] == [("discriminator_collapse", None)]


def test_step_level_checks_skip_the_checks_that_need_epochs():
    # D(x) - D(G(z)) = 0.98 over several steps is no `discriminator_dominates` (an issue of
    # `patience` epochs), but the collapse is seen at once.
    monitor = _monitor(every_n_steps=1, patience=1)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        monitor.on_epoch_begin(0)
        for batch in range(5):
            monitor.on_train_batch_end(batch, COLLAPSED)
        assert {e.issue for e in monitor.events} == {"discriminator_collapse"}
        monitor.on_epoch_end(0, COLLAPSED)
    assert "discriminator_dominates" in {e.issue for e in monitor.events}


def test_an_issue_warns_once_until_it_clears():
    monitor = _monitor()
    epochs = [COLLAPSED, COLLAPSED, COLLAPSED, HEALTHY, COLLAPSED]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch, logs in enumerate(epochs):
            monitor.on_epoch_begin(epoch)
            monitor.on_epoch_end(epoch, logs)
    # Reported in epoch 1, silent while it lasts, cleared in epoch 4, reported again in 5.
    assert [(e.issue, e.epoch) for e in monitor.events] == [
        ("discriminator_collapse", 1),
        ("discriminator_collapse", 5),
    ]
    assert len(_health_warnings(caught)) == 2


@pytest.mark.parametrize(
    "stop_on, stops",
    [(("discriminator_collapse",), True), ("all", True), (("divergence",), False), ((), False)],
)
def test_stop_on_stops_for_the_issues_it_names(stop_on, stops):
    model = _Model()
    monitor = _monitor(model, stop_on=stop_on)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        monitor.on_epoch_begin(0)
        monitor.on_epoch_end(0, COLLAPSED)
    assert [e.issue for e in monitor.events] == ["discriminator_collapse"]  # Always reported.
    assert model.stop_training is stops
    assert (monitor.stopped_by is monitor.events[0]) if stops else monitor.stopped_by is None


def test_a_step_level_issue_in_stop_on_ends_fit_at_that_step(toy_gan, square_data, toy_dataset):
    gan = toy_gan()
    # Every discriminator loss counts as a collapse below this threshold: step 2 stops the run.
    monitor = TrainingMonitor(
        every_n_steps=2,
        stop_on=("discriminator_collapse",),
        collapse_threshold=100.0,
        num_diversity_samples=0,
        verbose=0,
    )
    with pytest.warns(TrainingHealthWarning, match="discriminator_collapse"):
        history = gan.fit(toy_dataset(square_data(500)), epochs=3, verbose=0, callbacks=[monitor])
    assert (monitor.stopped_by.epoch, monitor.stopped_by.step) == (1, 2)
    assert int(gan.g_optimizer.iterations) == 2 and len(history.history["d_loss"]) == 1


def test_mode_collapse_is_measured_against_the_real_samples(toy_gan, square_data):
    """A generator that draws one point, judged by its samples: its diversity is 0 against the
    real data's, so the first epoch already shows the collapse. Without real samples the only
    reference is its own earlier diversity, and there is none in the first epoch."""
    gan = toy_gan()
    output = gan.generator.get_layer("output")
    output.kernel.assign(np.zeros(output.kernel.shape, "float32"))
    real = square_data(300)
    found = {}
    for name, reference in [("with_real", real), ("without_real", None)]:
        monitor = TrainingMonitor(real_samples=reference, num_diversity_samples=64, verbose=0)
        monitor.set_model(gan)
        monitor.on_train_begin()
        monitor.on_epoch_begin(0)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            monitor.on_epoch_end(0, dict(HEALTHY))
        assert monitor.history[0]["diversity"] == pytest.approx(0.0, abs=1e-6)
        found[name] = [e for e in monitor.events if e.issue == "mode_collapse"]
    assert len(found["with_real"]) == 1 and "the real data's" in found["with_real"][0].message
    assert found["without_real"] == []


def test_probability_checks_are_left_out_for_raw_discriminator_outputs():
    """Hinge and least-squares GANs report mean raw outputs as d_real / d_fake: values near 0
    are normal there, and must not read as "the discriminator calls everything fake"."""
    import kgan

    history = [{"d_loss": 1.0, "g_loss": 1.0, "d_real": 0.01, "d_fake": 0.01}]

    def monitor_for(loss):
        gan = kgan.GAN(
            kgan.models.mlp_generator((2,), 2, (4,), output_activation=None),
            kgan.models.mlp_discriminator((2,), (4,)),
            loss=loss,
        )
        monitor = kgan.callbacks.TrainingMonitor()
        monitor.set_model(gan)
        return monitor

    assert "discriminator_says_fake" in monitor_for("non_saturating").diagnose(history)
    assert "discriminator_says_fake" not in monitor_for("hinge").diagnose(history)
    assert "discriminator_says_fake" not in monitor_for("least_squares").diagnose(history)

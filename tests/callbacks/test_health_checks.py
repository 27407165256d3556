"""Tests of kgan.callbacks.health_checks: one test per failure mode, on metric histories.

The recorded histories are `TrainingMonitor.history` of two real runs of the toy GAN of
tests/callbacks/test_monitor.py (10 epochs at the default learning rates, 12 epochs with a
discriminator learning rate 100x too high), rounded to 4 decimals.
"""

import math

import numpy as np
import pytest

from kgan.callbacks import TrainingMonitor, health_checks
from kgan.callbacks.health_checks import (
    diagnose,
    discriminator_collapse,
    discriminator_dominates,
    discriminator_says_fake,
    discriminator_says_real,
    divergence,
    generator_dominates,
    generator_stalled,
    metric_values,
    mode_collapse,
    non_finite_metrics,
)

_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "diversity")

RECORDED_HEALTHY = [
    dict(zip(_KEYS, row))
    for row in [
        (1.2962, 0.6508, 0.5768, 0.5245, 0.6479),
        (1.2997, 0.6268, 0.5864, 0.5334, 0.9347),
        (1.3277, 0.6190, 0.5824, 0.5420, 1.2166),
        (1.3408, 0.6327, 0.5665, 0.5350, 1.4625),
        (1.3278, 0.6716, 0.5498, 0.5138, 1.6439),
        (1.3134, 0.7130, 0.5363, 0.4914, 1.7449),
        (1.3565, 0.7164, 0.5236, 0.4946, 1.7993),
        (1.4201, 0.7038, 0.5036, 0.5040, 1.8364),
        (1.4619, 0.6930, 0.4842, 0.5094, 1.9318),
        (1.4574, 0.7136, 0.4671, 0.4964, 2.0402),
    ]
]
RECORDED_D_LR_100X = [
    dict(zip(_KEYS, row))
    for row in [
        (0.5435, 2.7179, 0.8377, 0.2034, 0.7115),
        (0.6333, 2.9082, 0.8094, 0.1817, 0.9492),
        (0.7757, 2.2809, 0.7476, 0.2367, 1.1043),
        (0.7181, 2.4475, 0.7634, 0.2262, 1.1675),
        (0.6124, 2.7056, 0.7907, 0.1969, 1.1864),
        (0.4865, 3.3537, 0.8293, 0.1604, 1.2095),
        (0.5153, 3.8148, 0.8376, 0.1556, 1.1792),
        (0.3742, 4.4652, 0.8755, 0.1209, 1.1594),
        (0.4039, 4.8661, 0.8728, 0.1227, 1.1158),
        (0.4222, 5.2882, 0.8741, 0.1267, 1.0993),
        (0.4398, 5.3559, 0.8735, 0.1268, 1.0899),
        (0.3889, 5.9227, 0.8815, 0.1139, 1.0387),
    ]
]
# The mean pairwise distance of 256 real points of the four-Gaussian data.
REAL_DIVERSITY = 1.2278


def _gan_epoch(d_loss=1.35, g_loss=0.72, d_real=0.52, d_fake=0.48, **extra):
    return dict(d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake, **extra)


def _healthy_history(epochs=10):
    rng = np.random.default_rng(0)
    return [
        _gan_epoch(
            d_loss=1.35 + 0.03 * rng.standard_normal(),
            g_loss=0.72 + 0.03 * rng.standard_normal(),
            d_real=0.52 + 0.02 * rng.standard_normal(),
            d_fake=0.48 + 0.02 * rng.standard_normal(),
            diversity=1.0 + 0.05 * rng.standard_normal(),
        )
        for _ in range(epochs)
    ]


def _wgan_history(epochs=3):
    return [dict(d_loss=-0.5, g_loss=0.1, wasserstein=0.5 + 0.1 * i) for i in range(epochs)]


def _issues(history, **settings):
    return set(diagnose(history, **settings))


# ---------------------------------------------------------------------------- the registry


def test_every_failure_mode_is_registered_with_its_advice_and_thresholds():
    assert (
        tuple(health_checks.CHECKS)
        == TrainingMonitor.ISSUES
        == (
            "discriminator_collapse",
            "divergence",
            "discriminator_says_real",
            "discriminator_says_fake",
            "discriminator_dominates",
            "generator_dominates",
            "generator_stalled",
            "mode_collapse",
        )
    )
    for issue, check in health_checks.CHECKS.items():
        assert check.issue == issue and check.function.__name__ == issue
        assert "Usually helps" in check.advice
    assert health_checks.CHECKS["generator_stalled"].thresholds == (
        "patience",
        "stall_tolerance",
        "equilibrium_band",
    )
    epoch_level = {issue for issue, check in health_checks.CHECKS.items() if check.epoch_level}
    assert epoch_level == {
        "discriminator_dominates",
        "generator_dominates",
        "generator_stalled",
        "mode_collapse",
    }


def test_a_new_failure_mode_is_one_registered_function(monkeypatch):
    monkeypatch.setattr(health_checks, "CHECKS", dict(health_checks.CHECKS))

    @health_checks.health_check("loss_too_high", advice="Usually helps: nothing.")
    def loss_too_high(history, *, limit=2.0):
        return "high" if history[-1]["d_loss"] > limit else None

    assert diagnose([_gan_epoch(d_loss=1.5)]) == {}
    assert diagnose([_gan_epoch(d_loss=1.5)], limit=1.0) == {"loss_too_high": "high"}


def test_diagnose_rejects_settings_no_check_takes():
    with pytest.raises(ValueError, match="Received: patiences=3"):
        diagnose(_healthy_history(3), patiences=3)


def test_metric_values_keep_scalars_and_non_finite_metrics_name_them():
    logs = {"d_loss": np.float32(0.5), "g_loss": np.array([np.inf]), "image": np.zeros((2, 2))}
    assert metric_values(logs) == {"d_loss": 0.5, "g_loss": math.inf}
    assert non_finite_metrics(logs) == ["g_loss=inf"]
    assert non_finite_metrics({"d_loss": 1.0, "step": "3"}) == []


# ---------------------------------------------------------------------------- diagnose


def test_checks_are_quiet_on_healthy_histories():
    history = _healthy_history()
    for end in range(1, len(history) + 1):
        assert _issues(history[:end]) == set()
    # The recorded run, with a short patience and the real data's diversity as reference.
    for end in range(1, len(RECORDED_HEALTHY) + 1):
        recorded = RECORDED_HEALTHY[:end]
        assert _issues(recorded, patience=3, reference_diversity=REAL_DIVERSITY) == set()


def test_non_finite_metrics_are_divergence_alone():
    history = _healthy_history(2) + [_gan_epoch(g_loss=float("nan"), d_real=0.99, d_fake=0.99)]
    assert _issues(history) == {"divergence"}


def test_step_level_diagnosis_runs_only_the_checks_without_epoch_history():
    strong_d = _gan_epoch(d_loss=0.01, g_loss=6.0, d_real=0.99, d_fake=0.01, diversity=0.01)
    history = _healthy_history(3) + [strong_d] * 6
    assert _issues(history) >= {"discriminator_dominates", "generator_stalled", "mode_collapse"}
    assert _issues(history, final=False) == {"discriminator_collapse"}


# ---------------------------------------------------------------------------- one check each


def test_discriminator_collapse():
    history = _healthy_history(3) + [_gan_epoch(d_loss=0.01, g_loss=6.0, d_real=0.99, d_fake=0.01)]
    assert "discriminator_collapse" in _issues(history)
    assert "d_loss=0.01 is below 0.05" in discriminator_collapse(history)
    assert discriminator_collapse(history, collapse_threshold=0.005) is None
    assert discriminator_collapse(RECORDED_D_LR_100X) is None
    # A Wasserstein critic's loss is unbounded below; it never "collapses" this way.
    assert discriminator_collapse([dict(d_loss=-40.0, g_loss=3.0, wasserstein=40.0)]) is None


def test_divergence_nan_and_growth():
    assert _issues(_healthy_history(2) + [_gan_epoch(g_loss=float("nan"))]) == {"divergence"}
    grown = _healthy_history(2) + [_gan_epoch(g_loss=12.0)]  # > 10 x max(1, 0.72)
    assert "divergence" in _issues(grown)
    assert "`g_loss` grew to 12" in divergence(grown)
    assert divergence(grown, growth_factor=20.0) is None
    assert "divergence" not in _issues(_healthy_history(2) + [_gan_epoch(g_loss=9.0)])
    # The recorded run's generator loss more than doubles, but does not diverge.
    assert divergence(RECORDED_D_LR_100X) is None
    # A Wasserstein critic's estimate growing without bound.
    wgan = _wgan_history()
    assert _issues(wgan) == set()
    assert "divergence" in _issues(wgan + [dict(d_loss=-40.0, g_loss=3.0, wasserstein=40.0)])
    # A Wasserstein generator's loss drifts freely; alone it is not divergence.
    assert divergence(wgan + [dict(d_loss=-0.5, g_loss=30.0, wasserstein=0.5)]) is None


def test_discriminator_says_real():
    real = _healthy_history(2) + [_gan_epoch(d_real=0.99, d_fake=0.97)]
    assert "discriminator_says_real" in _issues(real)
    assert discriminator_says_real(real) == "D(x)=0.990 and D(G(z))=0.970: both near 1."
    assert discriminator_says_real(real, saturation=0.02) is None
    assert discriminator_says_real(RECORDED_HEALTHY) is None


def test_discriminator_says_fake():
    fake = _healthy_history(2) + [_gan_epoch(d_real=0.02, d_fake=0.01)]
    assert "discriminator_says_fake" in _issues(fake)
    assert discriminator_says_fake(fake) == "D(x)=0.020 and D(G(z))=0.010: both near 0."
    assert discriminator_says_fake(fake, saturation=0.015) is None
    assert discriminator_says_fake(RECORDED_HEALTHY) is None


def test_discriminator_dominates_only_after_patience_epochs():
    strong_d = _gan_epoch(d_loss=0.4, g_loss=3.0, d_real=0.88, d_fake=0.1)
    assert "discriminator_dominates" not in _issues(_healthy_history(3) + [strong_d] * 4)
    assert "discriminator_dominates" in _issues(_healthy_history(3) + [strong_d] * 5)
    # The recorded run: D(x) - D(G(z)) is above 0.7 from epoch 8 on, so with a patience of 3
    # epochs the check first fires at epoch 10.
    first = [
        end
        for end in range(1, len(RECORDED_D_LR_100X) + 1)
        if discriminator_dominates(RECORDED_D_LR_100X[:end], patience=3)
    ]
    assert first[0] == 10
    assert discriminator_dominates(RECORDED_D_LR_100X, patience=3, dominance_gap=0.8) is None


def test_generator_dominates():
    strong_g = _gan_epoch(d_real=0.3, d_fake=0.6)
    assert "generator_dominates" in _issues([strong_g] * 3, patience=3)
    assert generator_dominates([strong_g] * 2, patience=3) is None
    assert generator_dominates([strong_g] * 3, patience=3, reverse_gap=0.4) is None
    fooled_critic = [dict(d_loss=0.2, g_loss=1.0 + i, wasserstein=-0.1) for i in range(3)]
    assert "generator_dominates" in _issues(fooled_critic, patience=3)
    assert "stayed negative for 3 epochs" in generator_dominates(fooled_critic, patience=3)
    assert generator_dominates(_wgan_history(), patience=3) is None
    assert generator_dominates(RECORDED_HEALTHY, patience=3) is None


def test_generator_stalled():
    flat = _healthy_history(3) + [_gan_epoch(g_loss=1.2, d_real=0.7, d_fake=0.3)] * 6
    assert "generator_stalled" in _issues(flat)
    assert "g_loss moved by 0.00e+00 over the last 5 epochs" in generator_stalled(flat)
    assert generator_stalled(flat, patience=6) is None  # the window reaches a moving epoch
    assert "generator_stalled" not in _issues(_healthy_history(9))
    assert generator_stalled(RECORDED_HEALTHY, patience=3) is None
    # A critic's flat loss (no D(x), D(G(z)) probabilities) is a stall whatever its value.
    flat_critic = [dict(d_loss=-0.5, g_loss=0.4, wasserstein=0.5)] * 6
    assert "g_loss moved by" in generator_stalled(flat_critic)


def test_a_flat_generator_loss_at_the_equilibrium_is_not_a_stall():
    """cifar10_cdcgan's epochs 33-37: D(x) 0.505, D(G(z)) 0.495, g_loss 0.7135 +- 0.0004. The
    epoch mean of a game at its equilibrium holds still; the generator still learns."""
    equilibrium = [
        _gan_epoch(d_loss=1.381, g_loss=0.7135 + 0.0003 * (-1) ** i, d_real=0.505, d_fake=0.495)
        for i in range(6)
    ]
    assert generator_stalled(equilibrium) is None
    assert "generator_stalled" not in _issues(equilibrium)
    assert "generator_stalled" in _issues(equilibrium, equilibrium_band=0.004)
    # One epoch of the window where the discriminator told them apart: a stall again.
    separated = equilibrium[:5] + [_gan_epoch(g_loss=0.7135, d_real=0.6, d_fake=0.4)]
    assert "g_loss moved by" in generator_stalled(separated)
    # Both at 0.9: the discriminator calls everything real, no equilibrium.
    fooled = [_gan_epoch(g_loss=0.105, d_real=0.9, d_fake=0.9)] * 6
    assert "g_loss moved by" in generator_stalled(fooled)


def test_a_dead_discriminator_at_one_half_is_a_stall():
    """A constant output: D(x) = D(G(z)) = 1/2 and g_loss = ln 2 exactly, no gradient."""
    dead = [_gan_epoch(d_loss=1.3863, g_loss=0.6931, d_real=0.5, d_fake=0.5)] * 6
    assert "g_loss moved by 0.00e+00" in generator_stalled(dead)
    assert "generator_stalled" in _issues(dead)


def test_mode_collapse():
    collapsed = _healthy_history(4) + [_gan_epoch(diversity=0.2)]
    assert "mode_collapse" in _issues(collapsed)  # against its own earlier peak
    assert "of its highest earlier value" in mode_collapse(collapsed)
    assert mode_collapse(collapsed, diversity_threshold=0.1) is None
    # Against the real data's diversity.
    assert "of the real data's" in mode_collapse([_gan_epoch(diversity=0.1)], reference_diversity=1)
    assert mode_collapse([_gan_epoch(diversity=0.6)], reference_diversity=1.0) is None
    # The recorded run at the first epoch: 0.6479 is just above half the real data's 1.2278.
    assert mode_collapse(RECORDED_HEALTHY[:1], reference_diversity=REAL_DIVERSITY) is None
    assert mode_collapse(RECORDED_HEALTHY[:1], reference_diversity=1.4) is not None

"""How kgan's two-optimiser models meet Keras' own callbacks.

* `ReduceLROnPlateau` and `LearningRateScheduler` change `model.optimizer`. A kgan model has
  two optimisers, so its `model.optimizer` is an `OptimizerPair`: Keras' callbacks recognise
  its `optimizers` list and change each optimiser's learning rate (ReduceLROnPlateau multiplies
  both by its `factor`, keeping their ratio).
* `ModelCheckpoint`, `EarlyStopping` and `ReduceLROnPlateau` with `mode="auto"` (their default)
  know the direction of `loss` and of compiled metrics only; for any other name Keras raises
  "isn't able to automatically determine whether that metric should be maximized or
  minimized". `fit` therefore sets `mode="min"` on those that monitor one of kgan's losses or
  distances (`LOWER_IS_BETTER`, with or without `val_`), as the user would.
"""

# The logs of kgan's models and callbacks for which lower is better: the two losses, and the
# Frechet and kernel Inception distances of `kgan.callbacks.EvaluationCallback`.
LOWER_IS_BETTER = ("d_loss", "g_loss", "fid", "kid")


class OptimizerPair:
    """`model.optimizer` of a kgan model: the discriminator's and the generator's optimisers.

    Not a Keras optimiser: kgan's train steps use `d_optimizer` and `g_optimizer` directly.
    This only lets Keras' callbacks (and `model.get_state_tree`) reach both.

    Attributes:
        optimizers: `[d_optimizer, g_optimizer]`.
    """

    built = True

    def __init__(self, d_optimizer, g_optimizer):
        self.optimizers = [d_optimizer, g_optimizer]

    def build(self, variables=None):
        """Nothing to build: `compile` builds each optimiser on its own network."""

    @property
    def iterations(self):
        """Train steps taken: the generator's optimiser updates once per step."""
        return self.optimizers[1].iterations

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    def __repr__(self):
        names = ", ".join(optimizer.name for optimizer in self.optimizers)
        return f"<OptimizerPair {names}>"


def resolve_auto_modes(callbacks):
    """Sets `mode="min"` on the `mode="auto"` callbacks that monitor a `LOWER_IS_BETTER` name.

    Callbacks that monitor other names, or whose mode is set, are left as they are.
    """
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None)
        if getattr(callback, "mode", None) != "auto" or not isinstance(monitor, str):
            continue
        if getattr(callback, "monitor_op", None) is not None:
            continue  # Already resolved by Keras (a callback reused across `fit` calls).
        if monitor.removeprefix("val_") in LOWER_IS_BETTER:
            callback.mode = "min"

"""Progress of kgan's long computations, shown as Keras shows `fit` and `predict`.

`verbose` takes Keras' values: `"auto"` (the default), 0 (silent), 1 (a progress bar,
`keras.utils.Progbar`) or 2 (one line per stage once it ends, for logs). `"auto"` is 1, as in
Keras, except that work finished in a single step shows nothing: a bar that is full at once
tells nothing.
"""

import time

VERBOSE_CHOICES = ("auto", 0, 1, 2)


def check_verbose(verbose):
    if isinstance(verbose, bool) or verbose not in VERBOSE_CHOICES:
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return verbose


class Progress:
    """The progress of one stage (`title`) of `total` units (`unit_name`s).

    Call `add(n)` as units are done. The title and the bar (Keras' `Progbar`) or the line of
    `verbose=2` go to stdout.
    """

    def __init__(self, title, total, *, verbose="auto", unit_name="sample"):
        self.title = title
        self.total = int(total)
        self.verbose = check_verbose(verbose)
        self.unit_name = unit_name
        self.done = 0
        self._bar = None
        self._start = time.perf_counter()

    def add(self, count):
        self.done += int(count)
        if self.verbose == 0 or self.total <= 0:
            return
        if self.verbose == 2:
            if self.done >= self.total:
                self._print_line()
            return
        if self._bar is None:
            if self.verbose == "auto" and self.done >= self.total:
                return  # Done in one step.
            import keras

            _print(self.title)
            self._bar = keras.utils.Progbar(self.total, unit_name=self.unit_name)
        self._bar.update(min(self.done, self.total))

    def _print_line(self):
        seconds = time.perf_counter() - self._start
        _print(f"{self.title}: {self.total:,} {self.unit_name}s in {seconds:.0f}s")


def _print(line):
    print(line, flush=True)

"""What the machine offers: the memory available to a new allocation."""

import os


def available_memory():
    """Bytes of memory available without swapping, or `None` when the system does not say.

    Linux reports `MemAvailable` in `/proc/meminfo` (free memory plus the caches it can drop);
    elsewhere the machine's total memory is the bound.
    """
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def environment():
    """The machine and software a measurement ran on, for the records that store it."""
    import platform

    import keras
    import tensorflow as tf

    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }

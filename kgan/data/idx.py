"""The IDX file format of MNIST and Fashion-MNIST: a strict reader and a writer.

An IDX file is a big-endian header, then raw values in row-major order. The header is a magic
number `0x0000TTNN` (TT = value type, 0x08 for unsigned bytes; NN = number of dimensions, 3 for
images and 1 for labels) followed by one unsigned 32-bit size per dimension. See
http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
"""

import gzip
import os
import struct
import zlib

import numpy as np

_UNSIGNED_BYTE = 0x08
_MAX_DIMENSIONS = 4
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """Reads an unsigned-byte IDX file, gzip-compressed or not, into a NumPy array.

    The file is validated before any value is returned, so a damaged download fails loudly
    instead of producing garbage images: the gzip stream must be complete, the magic number must
    be `0x000008NN` (unsigned bytes, NN = 1 to 4 dimensions; MNIST uses `0x00000801` for labels
    and `0x00000803` for images) and the file must hold exactly the number of bytes its header
    announces. Compression is detected from the content, not the file name.

    Args:
        path: path of the file, for example `".../mnist/train-images-idx3-ubyte.gz"`.

    Returns:
        A writable uint8 array whose shape is the one in the header, for example
        `(60000, 28, 28)` for MNIST's training images.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not a complete, well-formed unsigned-byte IDX file. The
            message names the file and what is wrong with it.

    Example:
    >>> labels = kgan.data.read_idx("mnist/train-labels-idx1-ubyte.gz")
    >>> labels.shape
    (60000,)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The IDX file does not exist. Received: path={path!r}")
    with open(path, "rb") as file:
        content = file.read()
    if content[:2] == _GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (EOFError, OSError, zlib.error) as error:
            # gzip raises EOFError for a cut-off stream, BadGzipFile (an OSError) for a bad
            # header and zlib.error for damaged compressed data.
            raise ValueError(
                f"The gzip-compressed IDX file is corrupt or truncated ({error}). Download it "
                f"again. Received: path={path!r}"
            ) from None
    return _parse_idx(content, path)


def _parse_idx(content, path):
    if len(content) < 4:
        raise ValueError(
            f"The IDX file is truncated: it has {len(content)} bytes, fewer than the 4-byte "
            f"magic number. Received: path={path!r}"
        )
    zero, value_type, num_dimensions = struct.unpack(">HBB", content[:4])
    magic = int.from_bytes(content[:4], "big")
    if zero != 0 or value_type != _UNSIGNED_BYTE or not 1 <= num_dimensions <= _MAX_DIMENSIONS:
        raise ValueError(
            f"The file is not an unsigned-byte IDX file: its magic number is 0x{magic:08X}, "
            "expected 0x00000801 (labels) or 0x00000803 (images). Received: "
            f"path={path!r}"
        )
    header_size = 4 + 4 * num_dimensions
    if len(content) < header_size:
        raise ValueError(
            f"The IDX file is truncated inside its header: the magic number 0x{magic:08X} "
            f"announces {num_dimensions} dimension sizes ({header_size} header bytes) but the "
            f"file has {len(content)} bytes. Received: path={path!r}"
        )
    shape = struct.unpack(f">{num_dimensions}I", content[4:header_size])
    expected = header_size + int(np.prod(shape, dtype=np.int64))
    if len(content) != expected:
        problem = "truncated" if len(content) < expected else "longer than its header says"
        raise ValueError(
            f"The IDX file is {problem}: its header announces shape {shape}, which is "
            f"{expected} bytes with the header, but it has {len(content)} bytes"
            + (" (after decompression)" if path.endswith(".gz") else "")
            + f". Received: path={path!r}"
        )
    # A copy, so the array owns writable memory instead of viewing the immutable bytes.
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def write_idx(path, array, *, compress=None):
    """Writes a uint8 array as an IDX file; the inverse of `read_idx`.

    Args:
        path: destination file.
        array: array of 1 to 4 dimensions with values in [0, 255].
        compress: gzip the file; by default when `path` ends with `.gz`. Compression uses a
            fixed timestamp so that the same array always gives the same bytes.

    Returns:
        `path`.
    """
    array = np.asarray(array)
    if not 1 <= array.ndim <= _MAX_DIMENSIONS:
        raise ValueError(
            f"An IDX array must have 1 to {_MAX_DIMENSIONS} dimensions. Received: array of "
            f"shape {array.shape}"
        )
    if array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255 or np.any(array % 1)):
            raise ValueError(
                "An unsigned-byte IDX array must hold integers in [0, 255]. Received: array "
                f"of dtype {array.dtype} with values in [{array.min()}, {array.max()}]"
            )
        array = array.astype(np.uint8)
    path = os.fspath(path)
    header = struct.pack(">HBB", 0, _UNSIGNED_BYTE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        content = gzip.compress(content, compresslevel=9, mtime=0)
    with open(path, "wb") as file:
        file.write(content)
    return path

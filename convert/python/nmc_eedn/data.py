"""Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX, gzip)."""
import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def _read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: truncated: expected {int(np.prod(shape))} bytes, got {body.size}")
    return body.reshape(shape)


def load_fashion_mnist(split, directory=None):
    """Returns (images uint8 [N, 1, 28, 28], labels int64 [N]) of 'train' or 'test'."""
    directory = directory or os.environ.get("NMC_FASHION_MNIST_DIR", DEFAULT_DIR)
    prefix = {"train": "train", "test": "t10k"}[split]
    img = os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz")
    lab = os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz")
    for p in (img, lab):
        if not os.path.exists(p):
            raise FileNotFoundError(
                f"{p} not found: install it with 'apt-get install dataset-fashion-mnist' "
                "or set NMC_FASHION_MNIST_DIR")
    x = _read_idx(img)
    y = _read_idx(lab).astype(np.int64)
    return x.reshape(-1, 1, x.shape[1], x.shape[2]), y

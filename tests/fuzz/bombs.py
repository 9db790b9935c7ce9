r"""Inputs that are small on disk and huge in memory, and a runner that measures them.

Builders (each writes real files, valid as far as their formats go):

* :func:`model_file` — a model file from a header and arrays, written without building
  the network, so that architectures nnlearn refuses to build can still be tried;
* :func:`idx_file` — an IDX file whose payload is gzip members of zeros, so that a
  header declaring gigabytes costs kilobytes (gzip files may hold several members,
  read as one stream); :func:`mnist_folder` — the four files of an MNIST-style folder,
  small real ones unless replaced;
* :func:`png_file` — a PNG whose image data is a zlib stream of identical rows,
  compressed once and repeated (each repetition ends in a full flush, so the deflate
  blocks are self-contained), with any row filter;
* :func:`bmp_header` — a BMP header declaring any size, with no pixels.

:func:`run_limited` runs a command in a subprocess under ``RLIMIT_AS`` and returns its
exit status, stderr, peak resident memory (``ru_maxrss`` from ``wait4``, the command forked
from a small spawner process so that it is the command's own) and wall time;
:func:`clean_failure` is the oracle of the bomb fuzzing: exit 0, or exit 1 or 2 with
``nnlearn <command>: error: ...`` and no traceback.
"""

from __future__ import annotations

import atexit
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

ZERO_UNIT = 16 * 2**20
"""Bytes of zeros per gzip member or repeated zlib unit."""

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


# -- model files -----------------------------------------------------------------------
def model_file(path: Path, layers: list[dict], input_shape: list[int], *,
               cost: str = "quadratic", seed: int = 0) -> Path:
    """Write a model file for ``layers`` (``{"type", "config"}``) with random arrays of the
    shapes the layers would own (``W``/``b`` of Dense and Conv2D), without building it."""
    from nnlearn.io.model_file import FORMAT, VERSION, write_archive

    rng = np.random.default_rng(seed)
    arrays = {}
    for i, spec in enumerate(layers):
        c = spec["config"]
        if spec["type"] == "Dense":
            shapes = {"W": (c["n_in"], c["n_out"]), "b": (c["n_out"],)}
        elif spec["type"] == "Conv2D":
            k = c["kernel_size"]
            shapes = {"W": (c["out_channels"], c["in_channels"], k[0], k[1]),
                      "b": (c["out_channels"],)}
        else:
            shapes = {}
        for name, shape in shapes.items():
            arrays[f"layer{i}.params.{name}"] = rng.normal(0, 0.1, shape).astype(np.float32)
    header = {"format": FORMAT, "version": VERSION, "layers": layers, "cost": cost,
              "dtype": "float32", "input_shape": input_shape, "metadata": {}}
    write_archive(path, header, arrays)
    return path


def conv_pool_bomb(path: Path, padding: int = 1000, kernel: int = 5, pool: int = 1000) -> Path:
    """The 1,957-byte bomb of issue 13: Conv2D(padding=1000) → MaxPool2D(1000) → Flatten →
    Dense(4 → 10) on MNIST-shaped input."""
    side = (28 + 2 * padding - kernel) + 1
    out = (side - pool) // pool + 1
    return model_file(path, [
        {"type": "Conv2D", "config": {"in_channels": 1, "out_channels": 1,
                                      "kernel_size": [kernel, kernel], "stride": [1, 1],
                                      "padding": [padding, padding]}},
        {"type": "MaxPool2D", "config": {"pool_size": [pool, pool], "stride": [pool, pool]}},
        {"type": "Flatten", "config": {}},
        {"type": "Dense", "config": {"n_in": out * out, "n_out": 10}},
        {"type": "Sigmoid", "config": {}}], [1, 28, 28])


def deep_model(path: Path, layers: int) -> Path:
    """``layers`` Sigmoid layers after a Dense(784 → 10): a header of ~35 bytes per layer."""
    return model_file(path, [{"type": "Dense", "config": {"n_in": 784, "n_out": 10}}]
                      + [{"type": "Sigmoid", "config": {}}] * layers, [784])


def small_model(path: Path) -> Path:
    """A working [784, 10] sigmoid model (for predict and evaluate)."""
    return model_file(path, [{"type": "Dense", "config": {"n_in": 784, "n_out": 10}},
                             {"type": "Sigmoid", "config": {}}], [784])


# -- IDX files and folders -----------------------------------------------------------------
_IDX_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
              "float64": 0x0E}


def idx_header(shape: tuple[int, ...], dtype: str = "uint8") -> bytes:
    return bytes([0, 0, _IDX_CODES[dtype], len(shape)]) + b"".join(
        int(d).to_bytes(4, "big") for d in shape)


def _zero_member(size: int) -> bytes:
    return gzip.compress(bytes(size), 9, mtime=0)


def gzip_zeros(head: bytes, payload: int, tail: bytes = b"") -> bytes:
    """gzip members: ``head``, ``payload`` zero bytes, then ``tail`` (e.g. one stray label)."""
    full, rest = divmod(payload, ZERO_UNIT)
    unit = _zero_member(ZERO_UNIT) if full else b""
    parts = [gzip.compress(head, mtime=0), unit * full]
    if rest:
        parts.append(_zero_member(rest))
    if tail:
        parts.append(gzip.compress(tail, mtime=0))
    return b"".join(parts)


def idx_file(path: Path, shape: tuple[int, ...], dtype: str = "uint8", *,
             array: np.ndarray | None = None, declared_payload: int | None = None) -> Path:
    """An IDX file: ``array`` if given (raw), else a gzip of zeros of the declared size
    (``declared_payload`` bytes actually stored, default all of them)."""
    if array is not None:
        be = array.astype(np.dtype(dtype).newbyteorder(">"))
        path.write_bytes(idx_header(array.shape, dtype) + be.tobytes())
        return path
    payload = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    stored = payload if declared_payload is None else declared_payload
    path.write_bytes(gzip_zeros(idx_header(shape, dtype), stored))
    return path


_NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
          "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def mnist_folder(folder: Path, n_train: int = 200, n_test: int = 100,
                 labels: dict[str, np.ndarray] | None = None, **replace: Path | bytes) -> Path:
    """An MNIST-style folder of the first ``n_train``/``n_test`` shipped MNIST images,
    with ``labels`` (``train_labels``/``test_labels`` arrays, int32 when they do not fit
    uint8) or whole files (``replace``: bytes, or a file to copy) substituted."""
    from nnlearn.data import read_idx
    from nnlearn.data.mnist import mnist_path

    folder.mkdir(parents=True, exist_ok=True)
    src = mnist_path()
    counts = {"train": n_train, "test": n_test}
    for key, name in _NAMES.items():
        target = folder / f"{name}.gz"
        if key in replace:
            value = replace[key]
            target.write_bytes(value if isinstance(value, bytes) else Path(value).read_bytes())
            continue
        n = counts[key.split("_")[0]]
        if labels and key in labels:
            arr = np.asarray(labels[key])
        else:
            found = next(p for p in (src / name, src / f"{name}.gz") if p.exists())
            arr = read_idx(found)[:n]
        dtype = "uint8" if arr.dtype == np.uint8 or 0 <= arr.min() <= arr.max() < 256 else "int32"
        be = arr.astype(np.dtype(dtype).newbyteorder(">"))
        target.write_bytes(gzip.compress(idx_header(arr.shape, dtype) + be.tobytes(), mtime=0))
    return folder


# -- PNG and BMP --------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zlib_repeat(unit: bytes, times: int) -> bytes:
    """A zlib stream of ``unit`` repeated ``times`` times, compressing ``unit`` once."""
    c = zlib.compressobj(9)
    head = c.compress(b"") + c.flush(zlib.Z_FULL_FLUSH)  # the 2-byte zlib header
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)  # self-contained: no history
    end = c.flush()[:-4]  # the final (empty) block; the checksum is recomputed below
    adler = 1
    for _ in range(times):
        adler = zlib.adler32(unit, adler)
    return head + block * times + end + struct.pack(">I", adler)


def png_file(path: Path, width: int, height: int, *, color: int = 0, depth: int = 8,
             row_filter: int = 0, fill: int = 0, ihdr: bytes | None = None,
             plte: bytes | None = None) -> Path:
    """A PNG of ``width``×``height`` whose every row is ``row_filter`` followed by ``fill``
    bytes; ``ihdr``/``plte`` replace those chunks' bodies (for damaged headers)."""
    row_bytes = (width * _CHANNELS[color] * depth + 7) // 8
    row = bytes([row_filter]) + bytes([fill]) * row_bytes
    rows_per_unit = max(1, min(height, ZERO_UNIT // len(row)))
    times, rest = divmod(height, rows_per_unit)
    data = zlib_repeat(row * rows_per_unit, times) if not rest else \
        zlib.compress(row * height, 9) if height * len(row) <= ZERO_UNIT else \
        zlib_repeat(row, height)
    header = ihdr if ihdr is not None else struct.pack(">IIBBBBB", width, height, depth, color,
                                                       0, 0, 0)
    chunks = png_chunk(b"IHDR", header)
    if plte is not None or color == 3:
        chunks += png_chunk(b"PLTE", plte if plte is not None else bytes(3 * 256))
    path.write_bytes(_PNG_SIGNATURE + chunks + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b""))
    return path


def digit_png(path: Path) -> Path:
    """A 28×28 PNG of the first MNIST test digit (dark ink on white), for ``predict``."""
    from nnlearn.data import load_mnist
    from nnlearn.data.png import write_png

    image = load_mnist(split="full").test[0][0].reshape(28, 28)
    write_png(path, (255 - 255 * image).astype(np.uint8))
    return path


def bmp_header(path: Path, width: int, height: int) -> Path:
    """A 24-bit BMP header declaring ``width``×``height`` pixels, with no pixel data."""
    row = (width * 3 + 3) // 4 * 4
    path.write_bytes(b"BM" + struct.pack("<IHHI", 54 + row * height, 0, 0, 54)
                     + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height,
                                   2835, 2835, 0, 0))
    return path


# -- running under a memory limit --------------------------------------------------------
class Outcome(NamedTuple):
    """How a limited subprocess ended."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss: int
    """Peak resident memory in bytes (``ru_maxrss`` of the process, from ``wait4``)."""
    seconds: float
    timed_out: bool


_SPAWNER = r"""
import json, os, resource, sys, time
for line in sys.stdin:
    job = json.loads(line)
    out = os.open(job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            if job["cwd"]:
                os.chdir(job["cwd"])
            resource.setrlimit(resource.RLIMIT_AS, (job["limit"], job["limit"]))
            os.execve(job["argv"][0], job["argv"], job["env"])
        finally:
            os._exit(127)
    os.close(out)
    os.close(err)
    killed = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if not killed and time.monotonic() - start > job["timeout"]:
            os.kill(pid, 9)
            killed = True
        time.sleep(0.002)
    print(json.dumps({"status": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss,
                      "seconds": time.monotonic() - start, "killed": killed}), flush=True)
"""
"""A tiny process (``python -S``, about 10 MB) that forks the limited commands. On Linux a
child's ``ru_maxrss`` includes the resident memory of the process it was forked from, so
forking from a small spawner, not from pytest or a script with NumPy loaded, keeps the
peak memory measured that of the command itself."""

_spawner: subprocess.Popen | None = None


def _spawn(job: dict) -> dict:
    global _spawner
    if _spawner is None or _spawner.poll() is not None:
        _spawner = subprocess.Popen([sys.executable, "-S", "-c", _SPAWNER], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env={"PATH": ""})
        atexit.register(_spawner.communicate)  # closing its stdin ends it
    _spawner.stdin.write(json.dumps(job) + "\n")
    _spawner.stdin.flush()
    return json.loads(_spawner.stdout.readline())


def run_limited(argv: list[str], limit: int = 2 * 2**30, timeout: float = 120.0,
                cwd: Path | None = None, env: dict | None = None) -> Outcome:
    """Run ``argv`` with ``RLIMIT_AS = limit`` bytes; kill it after ``timeout`` s."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "out", Path(tmp) / "err"
        done = _spawn({"argv": [str(a) for a in argv], "limit": int(limit), "timeout": timeout,
                       "cwd": str(cwd) if cwd else None, "env": env or ENV,
                       "stdout": str(out), "stderr": str(err)})
        return Outcome(done["status"], out.read_text(errors="replace"),
                       err.read_text(errors="replace"), done["maxrss"] * 1024, done["seconds"],
                       done["killed"])


def nnlearn(*args: str | Path, limit: int = 2 * 2**30, timeout: float = 120.0,
            cwd: Path | None = None) -> Outcome:
    """``python -m nnlearn ARGS`` under :func:`run_limited`."""
    return run_limited([sys.executable, "-m", "nnlearn", *map(str, args)], limit, timeout, cwd)


def clean_failure(outcome: Outcome) -> str | None:
    """``None`` if the command succeeded or failed cleanly (exit 1 or 2, one
    ``nnlearn ...: error: ...`` message, no traceback, no ``MemoryError``); else what went wrong."""
    if outcome.timed_out:
        return f"timed out after {outcome.seconds:.0f} s"
    if "Traceback" in outcome.stderr or "MemoryError" in outcome.stderr:
        return f"traceback (exit {outcome.returncode}): {outcome.stderr[-2000:]}"
    if outcome.returncode == 0:
        return None
    if outcome.returncode not in (1, 2):
        return f"exit {outcome.returncode}: {outcome.stderr[-2000:]}"
    if ": error: " not in outcome.stderr:
        return f"exit {outcome.returncode} without an error message: {outcome.stderr[-2000:]}"
    return None


def first_error(outcome: Outcome) -> str:
    """The error line of a failed run ('' if it succeeded)."""
    lines = [line for line in outcome.stderr.splitlines() if ": error: " in line]
    return lines[0] if lines else ""



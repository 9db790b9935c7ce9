r"""Shared fuzzing harness: hypothesis strategies for hostile IDX and model files, and the oracles.

The oracle of every fuzz case is the same: reading the file either succeeds or
raises one of nnlearn's own errors (``IDXFormatError``/``DataError`` for IDX files,
``ModelFileError`` for model files). Any other exception, or any warning (pytest
runs with warnings as errors and the oracles turn them into errors outside pytest
too), is a bug in the library.

The package is imported as the top-level module ``harness`` (tests/fuzz on ``sys.path``);
it re-exports the names its callers use. One module per kind of input:

* :mod:`harness.common`: what every kind shares: :data:`COUNTS` (the cases run per target,
  one dict for every module), the scratch folder, the oracles' common part
  (:func:`read_or_own_error`) and the byte-level mutations (:func:`mutated`).
* :mod:`harness.idx` (oracle :func:`check_idx`): random bytes; *structured* headers (magic,
  dtype code, ndim and dimensions drawn from edge values such as 0, 2**31 - 1 and
  2**32 - 1, so their product overflows 32 and 64 bits) followed by payloads of the exact,
  a shorter, a longer or a random length; byte-level mutations (flip, truncate, insert,
  splice) of valid files; each written raw or gzip-compressed (whole, truncated or
  bit-flipped).
* :mod:`harness.models`, model files (oracle :func:`check_model`): random bytes; byte
  mutations of a valid model file; and *structured* mutations: the JSON header edited as a
  tree (values replaced by random JSON, keys deleted or added, unknown layer types, wrong
  types in configs, deep nesting, invalid UTF-8), the arrays edited (wrong shapes and
  dtypes, object, string, complex and structured arrays, 0-d arrays, NaN/inf, missing and
  extra entries), written back as a real ``.npz``.
* :mod:`harness.web`, the web API's JSON endpoints (:func:`web_requests`, oracle
  :func:`check_web`): requests to the real application of ``nnlearn serve`` (in process,
  through Starlette's TestClient) over a runs folder that holds a good run, a damaged one
  and a symbolic link leading outside: valid bodies with one field replaced by random JSON,
  random JSON, random bytes, deep nesting, 5000-digit integers, NaN; run names and query
  values of any text. Every answer must be a success or a 4xx (or 503 for a full session
  pool) with a JSON ``{"error", "field"}`` body; a server error or an exception is a bug.
* :mod:`harness.spaces`, sweep space files (``nnlearn search``, :func:`check_space`):
  random bytes; byte mutations of a valid space; and *structured* spaces: known, misspelt
  and deeply nested ``[search]`` keys, grids of edge values or of 10⁵ values, ranges and
  choices with edge bounds, ``[sweep]`` options up to 10¹⁸ trials. The oracle: the trials
  are listed (never more than the limit) or a ``ConfigError`` names the file.
* :mod:`harness.huge`, valid-but-huge inputs (:func:`huge_models`, :func:`huge_idx`,
  :func:`huge_png`): files that pass every format check but declare huge activations, data
  sets or images. These run the real command line (``nnlearn predict`` / ``train``) in a
  subprocess under ``RLIMIT_AS`` = :data:`BOMB_LIMIT`; the oracle (:func:`check_bomb`) is a
  success or a clean error (exit 1 or 2 with a message), never a traceback or a
  ``MemoryError``. The files are built by ``bombs.py`` beside this package.
"""

from .common import COUNTS, _write, mutated
from .huge import (check_huge_idx, check_huge_model, check_huge_png, huge_idx, huge_models,
                   huge_png)
from .idx import check_idx, gzipped, idx_files, idx_raw, idx_valid
from .models import (_bases, check_model, model_files, model_structured, model_valid_bytes,
                     pack_model)
from .spaces import _VALID_SPACE, check_space, space_files
from .web import check_web, web_requests

__all__ = ["COUNTS", "_VALID_SPACE", "_bases", "_write", "check_huge_idx", "check_huge_model",
           "check_huge_png", "check_idx", "check_model", "check_space", "check_web", "gzipped",
           "huge_idx", "huge_models", "huge_png", "idx_files", "idx_raw", "idx_valid",
           "model_files", "model_structured", "model_valid_bytes", "mutated", "pack_model",
           "space_files", "web_requests"]

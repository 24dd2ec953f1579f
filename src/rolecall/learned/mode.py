"""The ``learned`` routing mode on the request path: per-prompt quality estimates for `Router.decide`.

A router trained with ``rolecall lab train`` predicts, for one prompt, how well each of its models
would answer. The inventory maps those model names to endpoints (``routing.learned.models``); the
router's quality metric then uses the estimate instead of the endpoint's average judged quality, and
the decision records the artifact as the metric's source. Everything else (eligibility, the other
metrics, fallbacks) is unchanged, so a learned decision is explained like any other.

The predictor is imported lazily: the ``learned`` extra (numpy, scikit-learn, wordllama) is only
needed when the mode is configured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from rolecall.errors import ConfigError
from rolecall.inventory.config import LearnedConfig
from rolecall.routing import QualityEstimate

NO_ESTIMATES: Mapping[str, QualityEstimate] = {}


class QualityPredictor(Protocol):
    def estimates(
        self, prompt: str, endpoint_models: Mapping[str, str]
    ) -> dict[str, QualityEstimate]: ...


class LearnedMode:
    """A loaded `QualityPredictor` and the endpoint → model mapping it serves."""

    def __init__(
        self, predictor: QualityPredictor, models: Mapping[str, str], artifact: Path
    ) -> None:
        self._predictor = predictor
        self.models = dict(models)
        self.artifact = artifact

    @classmethod
    def load(cls, config: LearnedConfig, base_dir: Path, source: str) -> LearnedMode:
        """Load the artifact named in ``routing.learned``; a relative path is relative to the config."""
        path = config.artifact if config.artifact.is_absolute() else base_dir / config.artifact
        if not path.is_file():
            raise ConfigError(
                source,
                "routing.learned.artifact",
                f"no trained router at {path}; create one with "
                "'rolecall lab train --records FILE --router NAME --out ARTIFACT'",
            )
        try:
            from rolecall.learned.deploy import LearnedQuality
        except ImportError as exc:
            raise ConfigError(
                source,
                "routing.mode",
                f"the learned mode needs the 'learned' extra ({exc.name} is missing): "
                "pip install 'rolecall[learned]'",
            ) from None
        try:
            predictor = LearnedQuality.load(path, config.willingness_to_pay)
            # a model name the router never saw would silently leave its endpoint unestimated
            predictor.check_models(config.models)
        except (ValueError, KeyError, OSError) as exc:
            raise ConfigError(
                source, "routing.learned.artifact", f"cannot load {path}: {exc}"
            ) from None
        return cls(predictor, config.models, path)

    def estimates(self, messages: Sequence[Any]) -> Mapping[str, QualityEstimate]:
        """Estimates for the prompt of one chat request (its last user turn)."""
        prompt = last_user_text(messages)
        if not prompt:
            return NO_ESTIMATES
        return self._predictor.estimates(prompt, self.models)


def last_user_text(messages: Sequence[Any]) -> str:
    """The text of the last user message: a string, or the text parts of a content list."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            parts = [
                p.get("text", "")
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            ]
            return "\n".join(t for t in parts if isinstance(t, str))
        return ""
    return ""

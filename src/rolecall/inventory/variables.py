"""Environment references in the inventory file: ``${VAR}`` and ``${VAR:-default}``.

Expansion runs on the parsed YAML document, string value by string value, so a reference needs no
quoting beyond YAML's own rules and can never change the document's structure. A default may hold
references itself (``${A:-${B:-x}}``); ``$${`` writes a literal ``${``. An unset variable without
a default expands to the empty string and is reported (`UnsetVariable`) with the key path it was
found at, so that the start can warn about it — or refuse, for the key of a remote provider.

A provider's ``api_key`` is the exception: the reference itself is kept (the key is read from the
environment only when a request is sent, and never held by the configuration), but an unset
variable there is reported all the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from rolecall.errors import ConfigError

__all__ = ["UnsetVariable", "expand_variables", "key_path"]

NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SYNTAX: Final = "write ${NAME} or ${NAME:-default} ($${ for a literal ${)"


@dataclass(frozen=True, slots=True)
class UnsetVariable:
    """``${name}`` at key ``path`` refers to a variable that is not set (and has no default)."""

    path: str
    name: str

    def __str__(self) -> str:
        effect = "requests go without a key" if self.path.endswith(".api_key") else "empty"
        return f"{self.path}: ${{{self.name}}} is not set ({effect}); export {self.name} or add it to .env"


def expand_variables(
    data: Any, environ: Mapping[str, str], source: str
) -> tuple[Any, tuple[UnsetVariable, ...]]:
    """``data`` with every reference in its string values expanded from ``environ`` (providers'
    ``api_key`` kept as written), and the unset variables found; a malformed reference raises
    `ConfigError` naming its key path."""
    unset: list[UnsetVariable] = []
    expanded = _walk(data, (), _Expander(environ, source, unset))
    return expanded, tuple(unset)


class _Expander:
    def __init__(self, environ: Mapping[str, str], source: str, unset: list[UnsetVariable]) -> None:
        self.environ = environ
        self.source = source
        self.unset = unset
        self.path = ""

    def expand(self, text: str, path: str) -> str:
        if "$" not in text:
            return text
        self.path = path
        value, _ = self._until(text, 0, nested=False)
        return value

    def _until(self, text: str, start: int, *, nested: bool) -> tuple[str, int]:
        """Expanded text from ``start`` up to the end, or (``nested``) up to the ``}`` closing a
        default; the position after what was read."""
        out: list[str] = []
        i = start
        while i < len(text):
            if text.startswith("$${", i):
                out.append("${")
                i += 3
            elif text.startswith("${", i):
                value, i = self._reference(text, i + 2)
                out.append(value)
            elif nested and text[i] == "}":
                return "".join(out), i + 1
            else:
                out.append(text[i])
                i += 1
        if nested:
            self._malformed(text, "a default has no closing '}'")
        return "".join(out), i

    def _reference(self, text: str, start: int) -> tuple[str, int]:
        """The value of the reference whose name starts at ``start``; the position after it."""
        match = NAME.match(text, start)
        if match is None:
            self._malformed(text, "expected a variable name after '${'")
        name, i = match.group(), match.end()
        value = self.environ.get(name)
        if text.startswith(":-", i):
            default, i = self._until(text, i + 2, nested=True)
            return (value or default), i
        if not text.startswith("}", i):
            self._malformed(text, f"expected '}}' or ':-' after '${{{name}'")
        if value is None:
            self.unset.append(UnsetVariable(self.path, name))
        return value or "", i + 1

    def _malformed(self, text: str, why: str) -> NoReturn:
        raise ConfigError(self.source, self.path, f"{why} in {text!r}; {SYNTAX}")


def _walk(node: Any, path: tuple[str | int, ...], expander: _Expander) -> Any:
    if isinstance(node, dict):
        return {key: _walk(value, (*path, str(key)), expander) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(item, (*path, i), expander) for i, item in enumerate(node)]
    if isinstance(node, str):
        if _is_api_key(path):
            _check_key_reference(node, path, expander)
            return node
        return expander.expand(node, key_path(path))
    return node


def _is_api_key(path: tuple[str | int, ...]) -> bool:
    return len(path) == 3 and path[0] == "providers" and path[2] == "api_key"


def _check_key_reference(text: str, path: tuple[str | int, ...], expander: _Expander) -> None:
    """Report an API key's variable when it is not set; the value stays the reference (its
    form is checked by the configuration's model)."""
    match = NAME.fullmatch(text.removeprefix("${").removesuffix("}"))
    if match is not None and text.startswith("${") and match.group() not in expander.environ:
        expander.unset.append(UnsetVariable(key_path(path), match.group()))


def key_path(loc: tuple[str | int, ...]) -> str:
    """A key path as errors show it: ``providers.openai.api_key``, ``endpoints[0].model``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"

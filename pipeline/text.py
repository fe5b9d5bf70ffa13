"""The words rekap shows a person, in each language it speaks: one catalogue, one way to render it.

Every user-facing string lives in ``schemas/text.yaml`` (a workspace may add to it or reword it with a
``text.yaml`` of its own in its specs folder, merged over the shipped one). A leaf holds one string
per language; :func:`say` renders a dotted key with parameters in a language, :func:`words` a whole
section, :func:`number` a number with the language's marks, and :func:`label` a spec's own labels
(table titles, member names), which a spec may give in fewer languages than the catalogue.

Code, findings and the catalog hold keys and structured parameters only; text is made here, when it
is shown. The catalogue is read when a word is first asked for, not when this module is imported (so
``rekap --help`` reads no YAML); ``LANGUAGES`` is computed on first use too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT = "id"


def _merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


@cache
def _load(path: Path | None) -> dict:
    """The shipped catalogue, with the one at ``path`` (a workspace's) merged over it."""
    from pipeline.specs import SCHEMAS, read_yaml  # here, not at import: showing --help needs no spec

    shipped = read_yaml(SCHEMAS / "text.yaml")
    return shipped if path is None else _merge(shipped, read_yaml(path) or {})


def catalogue() -> dict:
    """The text catalogue in force (shipped, with the workspace's own merged over it)."""
    from pipeline.specs import spec_files

    return _in_force(spec_files().get("text.yaml"))  # the file in force is known once per use_specs


@cache
def _in_force(path: Path | None) -> dict:
    from pipeline.specs import SCHEMAS

    return _load(None if path is None or path == SCHEMAS / "text.yaml" else path)


def languages() -> tuple[str, ...]:
    """The languages of the catalogue in force, the default first."""
    return tuple(catalogue()["languages"])


def __getattr__(name: str):
    """``LANGUAGES``: the shipped catalogue's languages (the CLI's choices), read on first use."""
    if name == "LANGUAGES":
        return tuple(_load(None)["languages"])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Keep(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def entry(key: str) -> Any:
    """The raw node under a dotted key (a leaf ``{lang: text}`` or a section)."""
    node: Any = catalogue()
    for part in key.split("."):
        try:
            node = node[part]
        except (KeyError, TypeError):
            raise KeyError(f"no text {key!r} in schemas/text.yaml") from None
    return node


def pick(leaf: dict, lang: str) -> str:
    """A leaf's string in ``lang``, or in the default language where the leaf lacks it."""
    return leaf[lang] if lang in leaf else leaf[DEFAULT]


def fill(template: str, params: dict) -> str:
    """``template`` with ``{name}`` filled from ``params``; unknown names stay as written."""
    return template.format_map(_Keep(params)) if params else template


def say(key: str, lang: str = DEFAULT, /, **params) -> str:
    """The text at ``key`` in ``lang`` with ``params`` filled in (``say("cli.done", "en", n=3)``)."""
    return fill(pick(entry(key), lang), params)


def say_shipped(key: str, lang: str = DEFAULT, /, **params) -> str:
    """:func:`say` from the shipped catalogue alone: for what is wrong with a workspace's own specs, its
    ``text.yaml`` among them."""
    node: Any = _load(None)
    for part in key.split("."):
        node = node[part]
    return fill(pick(node, lang), params)


def words(key: str, lang: str = DEFAULT) -> dict:
    """A section's leaves in one language, by name (nested sections stay nested)."""
    def render(node):
        if _is_leaf(node):
            return pick(node, lang)
        return {name: render(child) for name, child in node.items()}
    return render(entry(key))


def _is_leaf(node) -> bool:
    return isinstance(node, dict) and DEFAULT in node and all(isinstance(v, str) for v in node.values())


def first(names, n: int | None = None, lang: str = DEFAULT) -> str:
    """``names`` joined by commas; with ``n``, only the first ``n`` and how many more there are ("A, B dan
    3.390 lainnya": a line a person reads at the console, where a national registry could name thousands)."""
    names = list(names)
    if n is None or len(names) <= n:
        return ", ".join(names)
    return say("text.and_more", lang, names=", ".join(names[:n]), n=number(len(names) - n, lang))


def label(mapping: dict | str | None, lang: str = DEFAULT) -> str:
    """A spec's own label (``{id: ..., en: ...}``) in ``lang``, falling back to the default language."""
    if mapping is None:
        return ""
    if isinstance(mapping, str):
        return mapping
    return mapping.get(lang) or mapping.get(DEFAULT) or next(iter(mapping.values()), "")


def number(value: Any, lang: str = DEFAULT, decimals: int | None = None) -> str:
    """A number as people write it in ``lang``: ``1.009`` and ``68,04`` in Indonesian, ``1,009`` and
    ``68.04`` in English (two decimals, or up to four where a value has more; exactly ``decimals``
    where given); lists joined; text as is."""
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 and decimals is None:
        value = int(value)
    if isinstance(value, (int, float)):
        marks = catalogue()["languages"].get(lang) or catalogue()["languages"][DEFAULT]
        if decimals is not None:
            text = f"{float(value):,.{decimals}f}"
        elif isinstance(value, int):
            text = f"{value:,}"
        else:
            text = f"{value:,.2f}" if abs(value - round(value, 2)) < 1e-9 else f"{value:,.4f}".rstrip("0")
        return text.replace(",", "\0").replace(".", marks["decimal"]).replace("\0", marks["thousands"])
    if isinstance(value, (list, tuple)):
        return ", ".join(number(v, lang) for v in value)
    return str(value)


def note(key: str, /, **params) -> str:
    """Words to keep for later (a run's message in the catalog), kept as their key and parameters
    (JSON), so that :func:`shown` puts them in whichever language the reader asks for."""
    return json.dumps({"text": key, "params": params}, ensure_ascii=False, sort_keys=True)


def shown(stored: str | None, lang: str = DEFAULT) -> str:
    """A :func:`note` in words; a message stored as words by an older rekap is shown as it is."""
    if not stored:
        return ""
    try:
        record = json.loads(stored)
        return say(record["text"], lang, **record.get("params", {}))
    except (ValueError, KeyError, TypeError, AttributeError):
        return stored


def leaves(node: Any | None = None, prefix: str = "") -> dict[str, dict]:
    """Every leaf of the catalogue (or of ``node``), by dotted key."""
    node = catalogue() if node is None else node
    found = {}
    for name, child in node.items():
        if prefix == "" and name == "languages":
            continue
        key = f"{prefix}{name}"
        if _is_leaf(child):
            found[key] = child
        elif isinstance(child, dict):
            found.update(leaves(child, key + "."))
        else:
            found[key] = child  # not a leaf nor a section: tests/test_text.py names it
    return found

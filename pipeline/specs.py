"""Table specs: the six recap tables described as data (``schemas/``), loaded into plain objects.

A table is a set of *cells*, each addressed by a key: one member per dimension, in the order the
table lists its dimensions. A member may be the total of other members (``total_of``); every sum
rule is derived from that (see :mod:`pipeline.rules.sums`). The printed grid (rows x columns) says
where each cell sits (:meth:`TableSpec.placements`); the printed layout every writer paints and the
reader looks for is built from it once per table by :mod:`pipeline.layout`.
"""

from __future__ import annotations

import csv
import functools
import itertools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

# The shipped specs: inside the installed package (a wheel maps the repository's schemas/ to
# pipeline/schemas/), or the repository's top-level schemas/ when run from the source tree.
_PACKAGE = Path(__file__).resolve().parent
SCHEMAS = _PACKAGE / "schemas" if (_PACKAGE / "schemas" / "dimensions.yaml").is_file() else _PACKAGE.parent / "schemas"

# A workspace may override any spec file (see :mod:`pipeline.workspace`): a file of the same relative
# name in its specs folder is used instead of the shipped one; its own registry may live anywhere.
_overrides: dict[str, Path | None] = {"folder": None, "registry": None}

Key = tuple[str, ...]


@dataclass(frozen=True)
class Member:
    code: str
    label: dict[str, str]
    aliases: tuple[str, ...] = ()
    total_of: tuple[str, ...] = ()
    percent: bool = False

    @property
    def is_total(self) -> bool:
        return bool(self.total_of)


@dataclass(frozen=True)
class Dimension:
    name: str
    label: dict[str, str]
    members: tuple[Member, ...]
    show: str = "member"  # how a message names a member: "member" (GOL I), "name" (Ruang B), "none"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.members)

    def member(self, code: str) -> Member:
        for m in self.members:
            if m.code == code:
                return m
        raise KeyError(f"{self.name}: no member {code!r}")

    def leaves(self, code: str) -> tuple[str, ...]:
        """The non-total members under ``code`` (itself when it is not a total)."""
        m = self.member(code)
        if not m.is_total:
            return (code,)
        return tuple(leaf for c in m.total_of for leaf in self.leaves(c))


@dataclass(frozen=True)
class GridLine:
    """One printed row or column: a partial key and its label(s), outermost first."""

    key: dict[str, str]
    label: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class Placement:
    """Where a cell is printed: row index, first and last column index of the grid (merged span)."""

    row: int
    col_first: int
    col_last: int


@dataclass(eq=False)  # compared and hashed by identity: specs are loaded once
class TableSpec:
    id: str
    number: int
    title: dict[str, str]
    sheet: str
    aliases: tuple[str, ...]
    dims: tuple[Dimension, ...]
    cells: tuple[Key, ...]  # in print order
    impossible_patterns: tuple[dict[str, tuple[str, ...]], ...]
    rows: tuple[GridLine, ...]
    columns: tuple[GridLine, ...]
    percent: dict | None = None
    note: dict[str, str] | None = None  # the instruction under the table's title in the template
    required_for: tuple[str, ...] | None = None
    _cellset: frozenset = field(default=frozenset(), repr=False)
    _placements: dict = field(default_factory=dict, repr=False)

    def is_required(self, opd: str | None) -> bool:
        """Whether an OPD must submit this table (``required_for`` limits a table to some OPDs)."""
        return self.required_for is None or (opd or "").upper() in self.required_for

    # -- keys ---------------------------------------------------------------------------------
    @property
    def dim_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)

    def dim(self, name: str) -> Dimension:
        for d in self.dims:
            if d.name == name:
                return d
        raise KeyError(f"{self.id}: no dimension {name!r}")

    def key(self, mapping: dict[str, str]) -> Key:
        return tuple(mapping[n] for n in self.dim_names)

    def key_dict(self, key: Key) -> dict[str, str]:
        return dict(zip(self.dim_names, key))

    def has_cell(self, key: Key) -> bool:
        return key in self._cellset

    @functools.cache
    def is_impossible(self, key: Key) -> bool:
        d = self.key_dict(key)
        for pattern in self.impossible_patterns:
            if all(all(leaf in allowed for leaf in self.dim(n).leaves(d[n])) for n, allowed in pattern.items()):
                return True
        return False

    @functools.cache
    def is_percent(self, key: Key) -> bool:
        return any(self.dim(n).member(m).percent for n, m in zip(self.dim_names, key))

    @functools.cache
    def is_leaf(self, key: Key) -> bool:
        return not any(self.dim(n).member(m).is_total for n, m in zip(self.dim_names, key))

    def expand(self, key: Key) -> tuple[Key, ...] | None:
        """The fewest printed cells whose sum is ``key``: itself if it is a cell, else its parts.

        Impossible cells count as zero and are left out. ``None`` if the key cannot be built from
        cells of this table. Fewest cells means printed subtotals are used where they exist, so a
        rule over an aggregate compares what the table prints, not its inner cells.
        """
        return self._expand(key)

    @functools.cache
    def _expand(self, key: Key) -> tuple[Key, ...] | None:
        if self.has_cell(key):
            return (key,)
        if self.is_impossible(key):
            return ()
        best = None
        for i, (name, code) in enumerate(zip(self.dim_names, key)):
            member = self.dim(name).member(code)
            if not member.is_total:
                continue
            parts: list[Key] = []
            for child in member.total_of:
                sub = self._expand(key[:i] + (child,) + key[i + 1:])
                if sub is None:
                    break
                parts.extend(sub)
            else:
                if best is None or len(parts) < len(best):
                    best = tuple(parts)
        return best

    def select(self, selector: dict) -> tuple[Key, ...] | None:
        """Cells summed by a selector: a partial key whose values are a member or a list of them.

        A dimension the selector leaves out is taken at its total member (or, having none, must be
        named). Returns the cells of the expanded sum, or ``None`` when it cannot be formed.
        """
        choices = []
        for d in self.dims:
            value = selector.get(d.name)
            if value is None:
                totals = [m.code for m in d.members if m.is_total]
                if not totals:
                    return None
                choices.append(totals[-1:])
            else:
                choices.append([value] if isinstance(value, str) else list(value))
        out: list[Key] = []
        for combo in itertools.product(*choices):
            part = self.expand(tuple(combo))
            if part is None:
                return None
            out.extend(part)
        return tuple(out)

    # -- grid --------------------------------------------------------------------------------
    def grid_key(self, row: GridLine, col: GridLine) -> Key | None:
        merged = {**col.key, **row.key}
        if set(merged) != set(self.dim_names):
            return None
        key = self.key(merged)
        return key if (self.has_cell(key) or self.is_impossible(key)) else None

    def placements(self) -> dict[Key, Placement]:
        """Where each cell (and each printed impossible cell) sits in the grid."""
        if self._placements:
            return self._placements
        out: dict[Key, Placement] = {}
        for r, row in enumerate(self.rows):
            for c, col in enumerate(self.columns):
                key = self.grid_key(row, col)
                if key is None:
                    continue
                if key in out:
                    prev = out[key]
                    if prev.row == r and prev.col_last == c - 1:
                        out[key] = Placement(r, prev.col_first, c)
                        continue
                    raise ValueError(f"{self.id}: cell {key} printed twice")
                out[key] = Placement(r, c, c)
        missing = [k for k in self.cells if k not in out]
        if missing:
            raise ValueError(f"{self.id}: cells not in the grid: {missing}")
        self._placements = out
        return out


@dataclass(frozen=True)
class Opd:
    code: str
    name: str
    type: str
    leader: str
    aliases: tuple[str, ...] = ()  # other names of the unit in staff lists (registry column `aliases`, `;`-separated)


def _member(raw) -> Member:
    if isinstance(raw, str):
        raw = {"code": raw}
    code = str(raw["code"])
    label = raw.get("label") or {"id": code, "en": code}
    return Member(code=code, label=dict(label), aliases=tuple(str(a) for a in raw.get("aliases", ())),
                  total_of=tuple(str(c) for c in raw.get("total_of", ())),
                  percent=bool(raw.get("percent", False)))


def _dimension(name: str, raw: dict, subset) -> Dimension:
    members = [_member(m) for m in raw["members"]]
    if subset != "all":
        keep = [str(c) for c in subset]
        unknown = set(keep) - {m.code for m in members}
        if unknown:
            raise ValueError(f"dimension {name}: unknown members {sorted(unknown)}")
        members = [m for m in members if m.code in keep]
        codes = {m.code for m in members}
        members = [Member(m.code, m.label, m.aliases, tuple(c for c in m.total_of if c in codes), m.percent)
                   if m.is_total else m for m in members]
    return Dimension(name=name, label=dict(raw.get("label", {"id": name, "en": name})), members=tuple(members),
                     show=raw.get("show", "member"))


def _as_tuple(value) -> tuple[str, ...]:
    return (str(value),) if isinstance(value, (str, int, float)) else tuple(str(v) for v in value)


def _line(raw: dict) -> GridLine:
    return GridLine(key={k: str(v) for k, v in raw["key"].items()}, label=_as_tuple(raw["label"]),
                    aliases=_as_tuple(raw.get("aliases", ())), optional=bool(raw.get("optional", False)))


def build_table(raw: dict, dimensions: dict) -> TableSpec:
    dims = tuple(_dimension(n, dimensions[n], subset) for n, subset in raw["dimensions"].items())
    spec = TableSpec(
        id=raw["id"], number=int(raw["number"]), title=dict(raw["title"]), sheet=raw["sheet"],
        aliases=_as_tuple(raw.get("aliases", ())), dims=dims, cells=(),
        impossible_patterns=tuple({k: _as_tuple(v) for k, v in p.items()} for p in raw.get("impossible", ())),
        rows=tuple(_line(r) for r in raw["rows"]), columns=tuple(_line(c) for c in raw["columns"]),
        percent=raw.get("percent"), note=raw.get("note"),
        required_for=_as_tuple(raw["required_for"]) if raw.get("required_for") else None,
    )
    blocks = [{k: _as_tuple(v) for k, v in b.items()} for b in raw["cells"]]
    cells: list[Key] = []
    for row in spec.rows:
        for col in spec.columns:
            merged = {**col.key, **row.key}
            if set(merged) != set(spec.dim_names):
                continue
            key = spec.key(merged)
            if key in cells or spec.is_impossible(key):
                continue
            if any(all(merged[n] in allowed for n, allowed in b.items()) for b in blocks):
                cells.append(key)
    spec.cells = tuple(cells)
    spec._cellset = frozenset(cells)
    spec.placements()  # fails early on a grid that prints a cell twice
    return spec


def use_specs(folder: Path | None = None, registry: Path | None = None) -> None:
    """Use the spec files in ``folder`` instead of the shipped ones, and ``registry`` as the registry.

    ``None`` goes back to the shipped file. Every loader's cache is cleared.
    """
    before = spec_files()
    folder = Path(folder).resolve() if folder else None
    _overrides["folder"] = None if folder == SCHEMAS.resolve() else folder
    _overrides["registry"] = Path(registry).resolve() if registry else None
    spec_files.cache_clear()
    after = spec_files()
    changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
    # only the loaders whose files changed: specs are compared by identity, so keep them when unchanged
    if any(n == "dimensions.yaml" or n.startswith("tables/") for n in changed):
        load_tables.cache_clear()
    if "registry.csv" in changed:
        load_registry.cache_clear()
    if "rules.yaml" in changed:
        load_rulebook.cache_clear()
    if changed - {"registry.csv"}:
        from pipeline.rules.cross import compiled  # compiled from the tables and rules

        compiled.cache_clear()


def spec_file(name: str) -> Path:
    """The file in force for a spec's relative name (``rules.yaml``, ``tables/3-golongan.yaml``)."""
    if name == "registry.csv" and _overrides["registry"] is not None:
        return _overrides["registry"]
    folder = _overrides["folder"]
    if folder is not None and (folder / name).is_file():
        return folder / name
    return SCHEMAS / name


@cache
def spec_files() -> dict[str, Path]:
    """Every spec file in force, by relative name: the shipped ones, each possibly overridden, and
    any table a workspace adds."""
    names = {p.relative_to(SCHEMAS).as_posix() for p in SCHEMAS.rglob("*") if p.is_file()}
    if _overrides["folder"] is not None:
        names |= {p.relative_to(_overrides["folder"]).as_posix() for p in _overrides["folder"].glob("tables/*.yaml")}
    names.add("registry.csv")
    return {n: spec_file(n) for n in sorted(names) if "__pycache__" not in n and not n.endswith(".py")}


@cache
def load_tables(root: Path | None = None) -> dict[str, TableSpec]:
    """All table specs (``tables/*.yaml`` of ``root``, default: the specs in force), by id, in book order."""
    if root is None:
        dimensions_file = spec_file("dimensions.yaml")
        table_files = [p for n, p in spec_files().items() if n.startswith("tables/") and n.endswith(".yaml")]
    else:
        dimensions_file, table_files = root / "dimensions.yaml", sorted((root / "tables").glob("*.yaml"))
    dimensions = yaml.safe_load(dimensions_file.read_text(encoding="utf-8"))
    specs = [build_table(yaml.safe_load(p.read_text(encoding="utf-8")), dimensions) for p in table_files]
    return {s.id: s for s in sorted(specs, key=lambda s: s.number)}


@cache
def load_registry(path: Path | None = None) -> dict[str, Opd]:
    """The OPD registry (``registry.csv``: code, name, type, leader, aliases separated by ``;``), default:
    the one in force."""
    with open(path or spec_file("registry.csv"), newline="", encoding="utf-8") as f:
        return {r["code"]: Opd(r["code"], r["name"], r["type"], r["leader"],
                               tuple(a.strip() for a in (r.get("aliases") or "").split(";") if a.strip()))
                for r in csv.DictReader(f)}


@cache
def load_rulebook(path: Path | None = None) -> dict:
    """``rules.yaml`` in force (default) or at ``path``: its ``rules`` and its named cells."""
    return yaml.safe_load((path or spec_file("rules.yaml")).read_text(encoding="utf-8"))


def load_rules(path: Path | None = None) -> tuple[dict, ...]:
    return tuple(load_rulebook(path)["rules"])


def staff_cell() -> tuple[str, dict[str, str]]:
    """The cell that counts every PNS & CPNS of an OPD, as ``(table, {dimension: member})``: the
    ``staff_cell`` of ``rules.yaml`` (the shipped one's, if a workspace's override names none)."""
    named = load_rulebook().get("staff_cell") or load_rulebook(SCHEMAS / "rules.yaml")["staff_cell"]
    return named["table"], dict(named["cell"])

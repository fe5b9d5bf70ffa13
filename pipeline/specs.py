"""Table specs: the recap tables described as data (``schemas/``), loaded into plain objects.

A table is a set of *cells*, each addressed by a key: one member per dimension, in the order the
table lists its dimensions. A member may be the total of other members (``total_of``); every sum
rule is derived from that (see :mod:`pipeline.rules.sums`). The printed grid (rows x columns) says
where each cell sits (:meth:`TableSpec.placements`); the printed layout every writer paints and the
reader looks for is built from it once per table by :mod:`pipeline.layout`.

Which tables are in force is data too: the shipped six of the book, each overridable by a file of the
same name in a workspace's specs folder, plus any table that folder adds; or, for a workspace that
declares a *collection* (:mod:`pipeline.workspace`), only the tables (and cross-table rules) of the
collection's folder. Who must submit a table is its ``required`` (all OPDs, OPD codes, OPD types of the
registry) or an OPD's registry column ``tables``; cells that may be printed *not available* are its
``not_available``.
"""

from __future__ import annotations

import csv
import functools
import itertools
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# The shipped specs: inside the installed package (a wheel maps the repository's schemas/ to
# pipeline/schemas/), or the repository's top-level schemas/ when run from the source tree.
_PACKAGE = Path(__file__).resolve().parent
SCHEMAS = _PACKAGE / "schemas" if (_PACKAGE / "schemas" / "dimensions.yaml").is_file() else _PACKAGE.parent / "schemas"

# A workspace may override any spec file (see :mod:`pipeline.workspace`): a file of the same relative
# name in its specs folder is used instead of the shipped one; its own registry may live anywhere.
_overrides: dict[str, Path | None] = {"folder": None, "registry": None, "collection": None}

Key = tuple[str, ...]
ANY_LANGUAGE = "*"  # a label key: the same text in every language (a member or dimension without labels)


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


@dataclass(frozen=True)
class Requirement:
    """Which OPDs must submit a table (spec key ``required``): ``all``, a list of OPD codes, or
    ``{opd: [codes], type: [registry types]}``. A table with none is read when sent, asked of nobody."""

    all: bool = False
    opds: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw) -> Requirement:
        if raw is None:
            return cls()
        if raw == "all":
            return cls(all=True)
        if isinstance(raw, dict):
            return cls(opds=tuple(c.upper() for c in _as_tuple(raw.get("opd", ()))),
                       types=_as_tuple(raw.get("type", ())))
        return cls(opds=tuple(c.upper() for c in _as_tuple(raw)))


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
    required: Requirement = Requirement()
    not_available: tuple[dict[str, tuple[str, ...]], ...] = ()  # cells that may be printed n/a, as `cells` blocks
    _cellset: frozenset = field(default=frozenset(), repr=False)
    _placements: dict = field(default_factory=dict, repr=False)

    def is_required(self, opd: str | None) -> bool:
        """Whether an OPD must submit this table: its spec's ``required`` names it (all, its code, its
        registry type), or its registry line lists the table (column ``tables``)."""
        if self.required.all:
            return True
        code = (opd or "").strip().upper()
        entry = load_registry().get(code)
        return code in self.required.opds or (entry is not None and (
            entry.type in self.required.types or self.id in entry.tables))

    def may_be_unavailable(self, key: Key) -> bool:
        """Whether the spec lets this cell be printed *not available* (``n/a``, ``..``, ``x``)."""
        d = self.key_dict(key)
        return any(all(d[n] in allowed for n, allowed in b.items()) for b in self.not_available)

    # -- keys ---------------------------------------------------------------------------------
    @functools.cached_property  # asked for every cell read and checked
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
    code: str  # its id everywhere in rekap: the registry code, ``INSTANSI.CODE`` when it belongs to an agency
    name: str
    type: str
    leader: str
    aliases: tuple[str, ...] = ()  # other names of the unit in staff lists (registry column `aliases`, `;`-separated)
    tables: tuple[str, ...] = ()  # tables it must submit besides those their specs ask of it (column `tables`)
    instansi: str = ""  # the agency (registry column `instansi`) it belongs to; "" in a one-city registry

    @property
    def local(self) -> str:
        """The code its own agency knows it by (``DISKOMINFO`` of ``KOTA-SERANG.DISKOMINFO``)."""
        return self.code[len(self.instansi) + 1:] if self.instansi else self.code


def _member(raw) -> Member:
    if isinstance(raw, str):
        raw = {"code": raw}
    code = str(raw["code"])
    label = raw.get("label") or {ANY_LANGUAGE: code}
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
    return Dimension(name=name, label=dict(raw.get("label", {ANY_LANGUAGE: name})), members=tuple(members),
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
        required=Requirement.parse(raw.get("required", raw.get("required_for"))),  # required_for: older name
        not_available=tuple({k: _as_tuple(v) for k, v in b.items()} for b in raw.get("not_available", ())),
    )
    if spec.percent and spec.percent.get("group", "table") not in ("table", "row", "column"):
        raise ValueError(f"{spec.id}: percent group must be table, row or column")
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


def use_specs(folder: Path | None = None, registry: Path | None = None, collection: Path | None = None) -> None:
    """Use the spec files in ``folder`` instead of the shipped ones, and ``registry`` as the registry;
    with ``collection``, the tables of that folder (``tables/*.yaml``, its ``rules.yaml`` and
    ``dimensions.yaml`` if any) instead of the book's.

    ``None`` goes back to the shipped file. Every loader's cache is cleared.
    """
    before = spec_files()
    folder = Path(folder).resolve() if folder else None
    _overrides["folder"] = None if folder == SCHEMAS.resolve() else folder
    _overrides["registry"] = Path(registry).resolve() if registry else None
    _overrides["collection"] = Path(collection).resolve() if collection else None
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


def specs_in_force() -> dict[str, Path | None]:
    """What :func:`use_specs` was last given (resolved), as its keyword arguments: for a process that
    starts afresh (a spawned worker) to use the same specs."""
    return dict(_overrides)


def read_yaml(path: Path):
    """A YAML spec file's data. PyYAML is imported here, when a spec is first read (not to show
    ``rekap --help``), and parses with libyaml where it has it (ten times faster than pure Python)."""
    import yaml

    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise SpecError(path, " ".join(str(err).replace('in "<unicode string>", ', "").split())) from None


class SpecError(ValueError):
    """A spec file that cannot be used (a workspace's override, a collection's table): which file, and what is
    wrong with it (YAML's own words, or the key that is missing or of the wrong kind)."""

    def __init__(self, path, detail: str):
        self.path, self.detail = Path(path), detail
        super().__init__(f"{path}: {detail}")

    def message(self, lang: str = "id") -> str:
        from pipeline import text

        return text.say_shipped("spec.unusable", lang, path=self.path, detail=self.detail)


@contextmanager
def _spec(path):
    """Inside: what goes wrong building a spec from ``path`` (a key missing, a value of the wrong kind) is a
    :class:`SpecError` naming that file."""
    try:
        yield
    except SpecError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        what = f"{type(err).__name__}: {err}" if not isinstance(err, KeyError) else f"no {err}"
        raise SpecError(path, what) from None


def check_specs() -> None:
    """Read every spec in force (tables, dimensions, rules, texts) when a workspace overrides or adds any: a
    file that cannot be used is a :class:`SpecError` now, before any work, rather than a fault in the
    middle of a run."""
    from pipeline import text
    from pipeline.rules.cross import compiled

    in_force = spec_files()
    if all(Path(p).resolve().is_relative_to(SCHEMAS.resolve()) for n, p in in_force.items() if n != "registry.csv"):
        return  # the shipped specs only: tested with rekap itself, and read where a command needs them
    load_tables()
    with _spec(in_force.get("rules.yaml", "rules.yaml")):
        compiled()
    with _spec(in_force.get("text.yaml", "text.yaml")):
        text.languages()


def spec_file(name: str) -> Path:
    """The file in force for a spec's relative name (``rules.yaml``, ``tables/3-golongan.yaml``)."""
    if name == "registry.csv" and _overrides["registry"] is not None:
        return _overrides["registry"]
    for folder in (_overrides["collection"], _overrides["folder"]):
        if folder is not None and (folder / name).is_file():
            return folder / name
    return SCHEMAS / name


@cache
def spec_files() -> dict[str, Path]:
    """Every spec file in force, by relative name: the shipped ones, each possibly overridden, and
    any table a workspace adds; in a collection, its tables and rules instead of the book's."""
    names = {p.relative_to(SCHEMAS).as_posix() for p in SCHEMAS.rglob("*") if p.is_file()}
    collection = _overrides["collection"]
    if collection is not None:
        names = {n for n in names if not n.startswith("tables/") and n != "rules.yaml"}
        names |= {p.relative_to(collection).as_posix() for p in collection.glob("tables/*.yaml")}
        names |= {n for n in ("rules.yaml", "dimensions.yaml") if (collection / n).is_file()}
    elif _overrides["folder"] is not None:
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
    # a workspace's dimensions.yaml adds to (or redefines, by name) the shipped dimensions
    dimensions = read_yaml(SCHEMAS / "dimensions.yaml")
    dimensions.update(read_yaml(dimensions_file) or {})
    specs = []
    for p in table_files:
        with _spec(p):
            specs.append(build_table(read_yaml(p), dimensions))
    return {s.id: s for s in sorted(specs, key=lambda s: s.number)}


@cache
def load_registry(path: Path | None = None) -> dict[str, Opd]:
    """The OPD registry (``registry.csv``: code, name, type, leader, aliases separated by ``;``), default:
    the one in force.

    A registry of several agencies (a province, the national agency) has a column ``instansi``: the
    agency's code (capitals, digits, ``-``), which names its folder ``raw/PERIOD/<instansi>/``. An OPD
    of an agency is known as ``INSTANSI.CODE`` (:attr:`Opd.code`), so two agencies may each have a
    ``DISKOMINFO``; a line without an agency keeps its bare code."""
    path = Path(path or spec_file("registry.csv"))
    registry: dict[str, Opd] = {}
    for line, r in _registry_lines(path):
        instansi = r.get("instansi", "").upper()
        if instansi and not AGENCY_CODE.fullmatch(instansi):
            raise RegistryError("agency", path, line=line, value=instansi)
        if not OPD_CODE.fullmatch(r["code"]):
            raise RegistryError("code", path, line=line, value=r["code"])
        if not r["name"]:
            raise RegistryError("no_name", path, line=line, code=r["code"])
        code = f"{instansi}.{r['code']}" if instansi else r["code"]
        if code in registry:
            raise RegistryError("twice", path, line=line, code=code)
        registry[code] = Opd(code, r["name"], r["type"], r["leader"], _list(r.get("aliases")),
                             _list(r.get("tables")), instansi)
    if not registry:
        raise RegistryError("empty", path)
    return registry


REGISTRY_COLUMNS = ("code", "name", "type", "leader")  # the columns every registry has (aliases, tables, instansi: optional)
OPD_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")  # an OPD code names its files: nothing else allowed


class RegistryError(ValueError):
    """A registry that cannot be used: ``key`` names its text (the text catalogue's ``registry`` section),
    ``params`` fill it; :meth:`message` says what is wrong, and where, in the reader's language."""

    def __init__(self, key: str, path: Path, **params):
        self.key, self.params = key, {"path": str(path), **params}
        super().__init__(key)

    def message(self, lang: str = "id") -> str:
        from pipeline import text

        return text.say_shipped(f"registry.{self.key}", lang, **self.params)  # read before the workspace's texts

    def __str__(self) -> str:
        return self.message("en")


def _registry_lines(path: Path):
    """(line number, row) of each line of a registry that is not blank, its cells stripped, by lower-cased
    column name. Read as Excel saves it: UTF-8 with or without its mark (else Windows-1252, Excel's "CSV"),
    separated by commas or (an Indonesian Excel's) semicolons, whichever the header line holds more of."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RegistryError("unreadable", path, error=err.strerror or type(err).__name__) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    header = text.split("\n", 1)[0]
    rows = csv.reader(text.splitlines(), delimiter=";" if header.count(";") > header.count(",") else ",")
    columns = [c.strip().lower() for c in next(rows, [])]
    missing = [c for c in REGISTRY_COLUMNS if c not in columns]
    if missing:
        found = "".join(ch for ch in ", ".join(columns) if ch.isprintable())[:200]
        raise RegistryError("columns", path, missing=", ".join(missing), found=found or "-")
    for cells in rows:
        if any(c.strip() for c in cells):
            yield rows.line_num, {name: cells[i].strip() if i < len(cells) else "" for i, name in enumerate(columns)}


AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,63}")  # an agency code names a folder: nothing else allowed


def agencies(registry: dict[str, Opd]) -> list[str]:
    """The agencies of a registry, in registry order; empty for a one-city registry."""
    return list(dict.fromkeys(o.instansi for o in registry.values() if o.instansi))


def agency_registry(registry: dict[str, Opd], instansi: str) -> dict[str, Opd]:
    """The registry as seen from one agency's folder: its OPDs by their own code (``DISKOMINFO``) and by
    their id (``KOTA-SERANG.DISKOMINFO``), so a submission in ``raw/PERIOD/KOTA-SERANG/`` may name
    either; another agency's OPD is unknown there (the folder, never the submitted text, says whose)."""
    mine = [o for o in registry.values() if o.instansi == instansi]
    return {**{o.local: o for o in mine}, **{o.code: o for o in mine}}


def _list(text: str | None) -> tuple[str, ...]:
    """A registry cell holding several values separated by ``;``."""
    return tuple(a.strip() for a in (text or "").split(";") if a.strip())


@cache
def load_rulebook(path: Path | None = None) -> dict:
    """``rules.yaml`` in force (default) or at ``path``: its ``rules`` and its named cells (a collection
    without its own ``rules.yaml`` has none)."""
    if path is None and "rules.yaml" not in spec_files():
        return {"rules": []}
    return read_yaml(path or spec_file("rules.yaml"))


def load_rules(path: Path | None = None) -> tuple[dict, ...]:
    """The rules across tables; a collection without its own ``rules.yaml`` has none."""
    return tuple(load_rulebook(path)["rules"] or ())


def staff_cell() -> tuple[str, dict[str, str]]:
    """The cell that counts every PNS & CPNS of an OPD, as ``(table, {dimension: member})``: the
    ``staff_cell`` of ``rules.yaml`` (the shipped one's, if a workspace's override names none)."""
    named = load_rulebook().get("staff_cell") or load_rulebook(SCHEMAS / "rules.yaml")["staff_cell"]
    return named["table"], dict(named["cell"])

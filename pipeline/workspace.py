"""The workspace: one agency's folders and settings, kept outside the installed tool.

A workspace is a folder with ``raw/`` (submissions, one folder per period), ``processed/`` (catalog,
archive, published releases), ``reports/`` (what people read), ``templates/`` (what is sent to the
OPDs) and an optional ``rekap.toml``:

.. code-block:: toml

    agency = "BKPSDM Kota Serang"      # named in the instructions sent with the templates
    instansi = ""                      # the agency's code: tags its rows in a database shared by agencies
    registry = "registry.csv"          # the OPD registry; default: the one shipped with rekap
    specs = "schemas"                  # a file here overrides the shipped spec of the same name
    collection = ""                    # a folder of tables unrelated to the book, used instead of its six
    database = ""                      # SQLAlchemy URL for the published tables; "": the catalog's SQLite

    [release]
    required_share = 1.0               # share of the OPDs that must submit needed for a final release
    exempt = []                        # OPD codes that need not submit

    [output]
    book_csv = "excel-id"              # tables/*.csv: "excel-id" (; and decimal comma) or "standard"

    [staff]
    policy = "reconcile"               # staff lists in raw/PERIOD/: reconcile, recap-first or list-first

A *collection* (``collection = "koleksi"``) is a folder with its own ``tables/*.yaml`` and, if it needs
them, ``dimensions.yaml`` (added to the shipped dimensions) and ``rules.yaml`` (rules across its
tables); its tables replace the book's six (see :mod:`pipeline.specs`).

The workspace is found by ``--workspace``, else ``REKAP_HOME``, else the current folder. A folder
without ``rekap.toml`` is a workspace with the defaults, so a source checkout (``make run``) is its
own workspace.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.files import atomic_write_text

CONFIG = "rekap.toml"
ENV = "REKAP_HOME"
BOOK_CSV_DIALECTS = ("excel-id", "standard")
STAFF_POLICIES = ("reconcile", "recap-first", "list-first")


class WorkspaceError(ValueError):
    """A workspace that cannot be used: ``key`` names its text (the text catalogue's ``workspace``
    section) and ``params`` fill it; :meth:`message` says why in the user's language."""

    def __init__(self, key: str, **params):
        super().__init__(f"{key}: {params}")
        self.key, self.params = key, params

    def message(self, lang: str = "id") -> str:
        from pipeline import text

        params = dict(self.params)
        if "expects" in params:  # what the setting must be, in the reader's words
            params["expects"] = text.say(f"workspace.expects.{params['expects']}", lang, **params)
        return text.say(f"workspace.{self.key}", lang, **params)


@dataclass(frozen=True)
class ReleasePolicy:
    required_share: float = 1.0  # of the OPDs that must submit, the share whose data must be in the tables
    exempt: tuple[str, ...] = ()  # OPD codes that need not submit

    def required(self, registry) -> list[str]:
        """The registry OPDs that must submit."""
        return [code for code in registry if code not in self.exempt]


@dataclass(frozen=True)
class Workspace:
    root: Path
    agency: str = "BKPSDM Kota Serang"
    instansi: str = ""  # the agency's code in a database shared by agencies ("" : untagged rows)
    registry: Path | None = None  # None: the shipped registry (or the specs folder's registry.csv)
    specs: Path | None = None  # a folder whose files override the shipped specs
    collection: Path | None = None  # a folder of tables (and their rules) used instead of the book's
    database: str | None = None
    release: ReleasePolicy = field(default_factory=ReleasePolicy)
    book_csv: str = "excel-id"
    staff_policy: str = "reconcile"  # how staff lists in raw/PERIOD/ are used (pipeline.staff_run)
    config: Path | None = None  # the rekap.toml read, if any

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    def activate(self) -> Workspace:
        """Make this workspace's registry and spec overrides the ones in force for this process. The registry
        and the specs are read here: one that cannot be used is a :class:`pipeline.specs.RegistryError` (or
        :class:`pipeline.specs.SpecError`) before any work."""
        from pipeline.specs import check_specs, load_registry, use_specs

        use_specs(self.specs, self.registry, self.collection)
        load_registry()
        check_specs()
        return self


def find(explicit: Path | str | None = None) -> Workspace:
    """The workspace: ``explicit`` (``--workspace``), else ``$REKAP_HOME``, else the current folder."""
    chosen = explicit or os.environ.get(ENV) or "."
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise WorkspaceError("missing", root=root)
    return load(root)


def load(root: Path) -> Workspace:
    root = Path(root).resolve()
    path = root / CONFIG
    if not path.is_file():
        specs = root / "schemas"
        return Workspace(root, specs=specs if specs.is_dir() else None)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise WorkspaceError("unreadable", path=path, error=err)
    setting = _Settings(root, path, data)
    share = setting("release", "required_share", 1.0)
    return Workspace(
        root, agency=setting(None, "agency", "") or Workspace.agency, instansi=setting(None, "instansi", ""),
        registry=setting(None, "registry", None), specs=setting(None, "specs", None),
        collection=setting(None, "collection", None), database=setting(None, "database", "") or None,
        release=ReleasePolicy(float(share), tuple(c.upper() for c in setting("release", "exempt", []))),
        book_csv=setting("output", "book_csv", "excel-id"), staff_policy=setting("staff", "policy", "reconcile"),
        config=path)


# What each setting of rekap.toml must be: (section or None, name) -> kind (its words: the text catalogue's
# ``workspace.expects.<kind>``), and the choices of a "choice".
SETTINGS = {
    (None, "agency"): ("text", ()),
    (None, "instansi"): ("agency_code", ()),
    (None, "registry"): ("file", ()),
    (None, "specs"): ("folder", ()),
    (None, "collection"): ("collection", ()),
    (None, "database"): ("text", ()),
    ("release", "required_share"): ("share", ()),
    ("release", "exempt"): ("codes", ()),
    ("output", "book_csv"): ("choice", BOOK_CSV_DIALECTS),
    ("staff", "policy"): ("choice", STAFF_POLICIES),
}


class _Settings:
    """The settings of one rekap.toml, each checked against :data:`SETTINGS` as it is read: a value of the
    wrong kind is a :class:`WorkspaceError` naming the setting, what it holds and what it must be."""

    def __init__(self, root: Path, path: Path, data: dict):
        self.root, self.path, self.data = root, path, data

    def __call__(self, section: str | None, name: str, default):
        table = self.data if section is None else self.data.get(section, {})
        if not isinstance(table, dict):
            raise WorkspaceError("setting", path=self.path, setting=section, value=_shown(table), expects="section")
        kind, choices = SETTINGS[section, name]
        value = table.get(name)
        if name not in table or (value == "" and kind in ("file", "folder", "collection")):
            return default
        where = name if section is None else f"{section}.{name}"
        checked = self._checked(kind, value, choices)
        if checked is _WRONG:
            raise WorkspaceError("setting", path=self.path, setting=where, value=_shown(value), expects=kind,
                                 choices=", ".join(choices))
        if isinstance(checked, Path) and not checked.exists():
            raise WorkspaceError("no_target", path=self.path, setting=where, value=_shown(value))
        if isinstance(checked, Path) and not _of_kind(kind, checked):
            raise WorkspaceError("setting", path=self.path, setting=where, value=_shown(value), expects=kind,
                                 choices="")
        return checked

    def _checked(self, kind: str, value, choices: tuple):
        if kind == "share":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
            return value if ok else _WRONG
        if kind == "codes":
            ok = isinstance(value, list) and all(isinstance(c, str) and c.strip() for c in value)
            return [c.strip() for c in value] if ok else _WRONG
        if not isinstance(value, str):
            return _WRONG
        if kind == "choice":
            return value if value in choices else _WRONG
        if kind == "agency_code":
            from pipeline.specs import AGENCY_CODE

            code = value.strip().upper()
            return code if not code or AGENCY_CODE.fullmatch(code) else _WRONG
        if kind in ("file", "folder", "collection"):
            return (self.root / value).resolve()
        return value


_WRONG = object()


def _of_kind(kind: str, target: Path) -> bool:
    """Whether an existing ``target`` is what a setting of ``kind`` names (a collection: a folder of tables)."""
    if kind == "file":
        return target.is_file()
    if kind == "collection":
        return target.is_dir() and any((target / "tables").glob("*.yaml"))
    return target.is_dir()


def _shown(value) -> str:
    """A setting's value as rekap.toml writes it (a text in double quotes, a list in brackets)."""
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


CONFIG_TEXT = '''# rekap workspace settings (see the README, "Running rekap for an agency").
agency = "{agency}"

# The agency's code (capitals, digits, -), e.g. "KOTA-SERANG": it tags the rows this workspace publishes to
# a database shared by several agencies (see `rekap national`). Empty: untagged rows, the city on its own.
instansi = ""

# The OPD registry: code, name, type, leader. Edit it as the city changes.
registry = "registry.csv"

# A file in this folder overrides the shipped spec of the same name (dimensions.yaml, rules.yaml,
# tables/<n>-<table>.yaml); leave it empty to use the shipped specs.
specs = "schemas"

# A collection of tables unrelated to the book: a folder with tables/*.yaml (and, if needed,
# dimensions.yaml and rules.yaml) whose tables are used instead of the book's six. Empty: the book.
collection = ""

# Where the city tables are published besides the files: an SQLAlchemy URL, e.g.
# "postgresql+psycopg://rekap@localhost/rekap". Empty: the catalog's SQLite file (processed/catalog.sqlite).
database = ""

[release]
# A release is final when the data of this share of the OPDs that must submit is in the city tables
# (1.0: all of them); otherwise it is provisional (sementara) until `rekap release --final`.
required_share = 1.0
# OPD codes that need not submit (they get no template and do not count for a final release).
exempt = []

[output]
# The book-layout tables (processed/PERIOD/tables/*.csv): "excel-id" opens right in an Indonesian
# Excel (; separator, decimal comma, UTF-8 BOM); "standard" is comma-separated with a decimal point.
book_csv = "excel-id"

[staff]
# Staff lists (one row per employee) in raw/PERIOD/: "reconcile" (a recap that differs from its list is
# rejected), "recap-first" (the recap is used, a difference is a warning) or "list-first" (the counts
# come from the list, the posts available from the recap). `rekap run --staff-policy` overrides it.
policy = "reconcile"
'''


def init(root: Path | str, agency: str = Workspace.agency) -> Workspace:
    """Create a workspace in ``root``: its folders, ``rekap.toml``, a copy of the registry to edit,
    and an empty ``schemas/`` for spec overrides. An existing ``rekap.toml`` is never overwritten."""
    from pipeline.specs import SCHEMAS

    root = Path(root).expanduser()
    if (root / CONFIG).exists():
        raise WorkspaceError("exists", config=root / CONFIG)
    for name in ("raw", "processed", "reports", "templates", "schemas"):
        (root / name).mkdir(parents=True, exist_ok=True)
    if not (root / "registry.csv").exists():
        atomic_write_text(root / "registry.csv", (SCHEMAS / "registry.csv").read_text(encoding="utf-8"))
    atomic_write_text(root / CONFIG, CONFIG_TEXT.format(agency=agency.replace('"', "'")))
    return load(root)

"""Superset for the lakehouse: bootstrap, import/export of the dashboards bundle, roles, start and stop.

Superset runs from ``.venv-superset`` (its own environment: it needs SQLAlchemy < 2). This module, in the main
environment, drives it through ``dashboards/superset_admin.py`` (bootstrap, import, export inside Superset's app)
and gunicorn (the server, a background service with a pid file). The bundle in ``dashboards/bundle`` is
machine-independent: the warehouse path is the placeholder ``${WAREHOUSE_FILE}``, rendered at import; ``export``
turns what Superset holds back into that form (no instance ids, no absolute paths).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lakehouse.secrets import get_credentials, get_secrets
from lakehouse.settings import REPO_ROOT, Settings, get_settings

DASHBOARDS_DIR = REPO_ROOT / "dashboards"
BUNDLE_DIR = DASHBOARDS_DIR / "bundle"
CONFIG_FILE = DASHBOARDS_DIR / "superset_config.py"
ADMIN_SCRIPT = DASHBOARDS_DIR / "superset_admin.py"
WAREHOUSE_PLACEHOLDER = "${WAREHOUSE_FILE}"
SERVICE = "superset"
BUNDLE_FOLDERS = ("databases", "datasets", "charts", "dashboards")

# dashboards (by uuid) and the roles that may open them (Admin always can)
DASHBOARD_ROLES = {
    "Executive KPIs": ["Analyst", "Executive"],
    "Marketing and attribution": ["Analyst"],
    "Logistics": ["Analyst"],
    "Sellers": ["Analyst", "Seller"],
    "Data health": ["Analyst"],
    "Demand and inventory": ["Analyst"],
    "Seller health": ["Analyst", "Seller"],
}
EXECUTIVE_DATASETS = ["kpi_daily", "logistics_lane_daily"]
# every dataset a seller may query carries seller_id and is filtered by row-level security (seller_benchmarks holds
# only the seller's own value and percentile, never a peer's)
SELLER_DATASETS = [
    "seller_daily",
    "fct_returns",
    "fct_shipments",
    "seller_health",
    "seller_scorecard",
    "seller_alerts",
    "seller_recommendations",
    "seller_benchmarks",
]
DEMO_USERS = ("analyst", "executive", "seller")


class SupersetError(RuntimeError):
    """Superset could not be set up, started or reached (the message says which step and why)."""


@dataclass(frozen=True)
class Login:
    user: str
    password: str
    roles: tuple[str, ...]
    note: str = ""


def url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"http://127.0.0.1:{settings.superset_port}"


def python(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    exe = settings.superset_venv / "bin" / "python"
    if not exe.exists():
        raise SupersetError(
            f"{exe} not found: run `make setup` (creates .venv-superset from requirements/superset.lock)"
        )
    return exe


def superset_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment of every Superset process: config, home, secret key, admin password, no telemetry."""
    from lakehouse.settings import child_env

    settings = settings or get_settings()
    settings.paths.superset.mkdir(parents=True, exist_ok=True)
    return child_env(
        {
            **settings.telemetry_env(),
            "LAKEHOUSE_HOME": str(settings.home),
            "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
            "SUPERSET_HOME": str(settings.paths.superset),
            "FLASK_APP": "superset",
            "SUPERSET_SECRET_KEY": get_secrets(settings)["superset_secret_key"],
            "LAKEHOUSE_SUPERSET_PASSWORD": get_credentials(settings)["superset_admin_password"],
            "PYTHONWARNINGS": "ignore",
        }
    )


def _admin(args: list[str], settings: Settings, what: str) -> dict:
    proc = subprocess.run(
        [str(python(settings)), str(ADMIN_SCRIPT), *args],
        env=superset_env(settings),
        capture_output=True,
        text=True,
        cwd=settings.paths.superset,
    )
    log = settings.paths.logs / "superset-admin.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        fh.write(f"--- {what}: {' '.join(args)}\n{proc.stdout}\n{proc.stderr}\n")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise SupersetError(f"superset {what} failed (exit {proc.returncode}; full log {log}):\n{tail}")
    lines = [line for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


# ---- the bundle ----------------------------------------------------------------------------------------------


def load_bundle(bundle: Path = BUNDLE_DIR) -> dict[str, dict]:
    """Every YAML file of a bundle: relative path -> parsed content."""
    if not (bundle / "metadata.yaml").exists():
        raise SupersetError(f"{bundle}: no metadata.yaml, not a Superset bundle")
    out = {}
    for path in sorted(bundle.rglob("*.yaml")):
        rel = path.relative_to(bundle).as_posix()
        try:
            out[rel] = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SupersetError(f"{path}: not valid YAML ({exc})") from None
    return out


def _chart_uuids(position: dict) -> list[str]:
    return [
        node["meta"]["uuid"]
        for node in position.values()
        if isinstance(node, dict) and node.get("type") == "CHART" and "uuid" in node.get("meta", {})
    ]


def validate_bundle(bundle: Path = BUNDLE_DIR, dbt_manifest: Path | None = None) -> list[str]:
    """Problems of a bundle, each naming file and rule: UUIDs that do not resolve, duplicate UUIDs, datasets whose
    table is neither a dbt model nor a dbt source (when a manifest is given), machine-specific values."""
    files = load_bundle(bundle)
    problems: list[str] = []
    by_kind: dict[str, dict[str, str]] = {k: {} for k in BUNDLE_FOLDERS}
    for rel, content in files.items():
        kind = rel.split("/", 1)[0]
        if kind not in by_kind:
            continue
        uuid = (content or {}).get("uuid")
        if not uuid:
            problems.append(f"{rel}: no uuid")
            continue
        if uuid in by_kind[kind]:
            problems.append(f"{rel}: uuid {uuid} also used by {by_kind[kind][uuid]}")
        by_kind[kind][uuid] = rel
    relations: set[str] = set()
    if dbt_manifest is not None:
        manifest = json.loads(dbt_manifest.read_text())
        relations = {n["alias"] or n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
        relations |= {s["identifier"] or s["name"] for s in manifest["sources"].values()}
    for rel, content in files.items():
        kind = rel.split("/", 1)[0]
        if kind == "datasets":
            if content.get("database_uuid") not in by_kind["databases"]:
                problems.append(f"{rel}: database_uuid {content.get('database_uuid')} resolves to no database")
            if dbt_manifest is not None and content["table_name"] not in relations:
                problems.append(f"{rel}: table {content['table_name']} is not a dbt model or source")
        elif kind == "charts":
            if content.get("dataset_uuid") not in by_kind["datasets"]:
                problems.append(f"{rel}: dataset_uuid {content.get('dataset_uuid')} resolves to no dataset")
            if not content.get("query_context"):
                problems.append(f"{rel}: no query_context (the chart data API needs one)")
        elif kind == "dashboards":
            for uuid in _chart_uuids(content.get("position", {})):
                if uuid not in by_kind["charts"]:
                    problems.append(f"{rel}: chart uuid {uuid} in position resolves to no chart")
            for flt in content.get("metadata", {}).get("native_filter_configuration", []):
                for target in flt.get("targets", []):
                    if "datasetUuid" not in target:
                        continue
                    if target["datasetUuid"] not in by_kind["datasets"]:
                        problems.append(f"{rel}: native filter {flt.get('name')} targets unknown dataset")
                        continue
                    dataset = files[by_kind["datasets"][target["datasetUuid"]]]
                    column = (target.get("column") or {}).get("name")
                    if column not in {c["column_name"] for c in dataset.get("columns", [])}:
                        problems.append(
                            f"{rel}: native filter {flt.get('name')} targets column {column}, "
                            f"not a column of dataset {dataset['table_name']}"
                        )
        elif kind == "databases" and content.get("sqlalchemy_uri") != f"duckdb:///{WAREHOUSE_PLACEHOLDER}":
            problems.append(f"{rel}: sqlalchemy_uri must be duckdb:///{WAREHOUSE_PLACEHOLDER} (rendered at import)")
    machine = _machine_paths()
    for rel in files:
        text = (bundle / rel).read_text()
        for path in machine:
            if path in text:
                problems.append(f"{rel}: holds a path of this machine ({path}); bundles must be machine-independent")
    return problems


def _machine_paths() -> list[str]:
    """Where this machine keeps things a bundle must never name: the lakehouse home, the checkout, the user's home
    and the temp folder (the export writes the placeholder instead)."""
    places = {get_settings().paths.home, REPO_ROOT, Path.home(), Path(tempfile.gettempdir())}
    return sorted({str(p.resolve()) for p in places if len(p.resolve().parts) > 1})


def render_bundle(settings: Settings, dest: Path, bundle: Path = BUNDLE_DIR) -> Path:
    """A zip of the bundle with the warehouse path filled in, ready for Superset's importer."""
    target = str(settings.paths.warehouse_file)
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(bundle.rglob("*.yaml")):
            text = path.read_text().replace(WAREHOUSE_PLACEHOLDER, target)
            zf.writestr(f"bundle/{path.relative_to(bundle).as_posix()}", text)
    return dest


# ---- export: what Superset holds -> the bundle's machine-independent form ------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "unnamed"


_INSTANCE_KEYS = ("datasource", "slice_id", "dashboards", "dashboardId")


def _strip_instance_ids(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in _INSTANCE_KEYS}


def _remap_dashboard(content: dict) -> dict:
    """Instance chart ids -> positions 1..N in the order the layout lists them (the importer maps them back)."""
    position = content.get("position") or {}
    chart_nodes = [n for n in position.values() if isinstance(n, dict) and n.get("type") == "CHART"]
    id_map: dict[int, int] = {}
    order = _layout_order(position)
    for node in sorted(chart_nodes, key=lambda n: order.get(n["id"], 1_000_000)):
        old = node["meta"].get("chartId")
        if isinstance(old, int) and old not in id_map:
            id_map[old] = len(id_map) + 1
        if isinstance(old, int):
            node["meta"]["chartId"] = id_map[old]

    def ids(values: list) -> list:
        return [id_map[v] for v in values if v in id_map]

    metadata = content.get("metadata") or {}
    # chartsInScope lists are derived from the scopes by the frontend, and the importer does not remap them:
    # they would point at other instances' charts, so the bundle leaves them out
    for flt in metadata.get("native_filter_configuration", []):
        flt.pop("chartsInScope", None)
        scope = flt.get("scope") or {}
        if scope.get("excluded"):
            scope["excluded"] = sorted(ids(scope["excluded"]))
    global_conf = metadata.get("global_chart_configuration") or {}
    global_conf.pop("chartsInScope", None)
    if metadata.get("default_filters") in ("{}", None):
        metadata.pop("default_filters", None)
    if (global_conf.get("scope") or {}).get("excluded"):
        global_conf["scope"]["excluded"] = sorted(ids(global_conf["scope"]["excluded"]))
    chart_conf = {}
    for key, conf in (metadata.get("chart_configuration") or {}).items():
        try:
            new = id_map[int(key)]
        except (ValueError, KeyError):
            continue
        conf["id"] = new
        cross = conf.get("crossFilters") or {}
        cross.pop("chartsInScope", None)
        if (cross.get("scope") or {}).get("excluded") if isinstance(cross.get("scope"), dict) else False:
            cross["scope"]["excluded"] = sorted(ids(cross["scope"]["excluded"]))
        chart_conf[str(new)] = conf
    if "chart_configuration" in metadata:
        metadata["chart_configuration"] = dict(sorted(chart_conf.items(), key=lambda kv: int(kv[0])))
    for key in ("timed_refresh_immune_slices",):
        if key in metadata:
            metadata[key] = sorted(ids(metadata[key]))
    for key in ("expanded_slices", "filter_scopes"):
        if key in metadata:
            metadata[key] = {str(id_map[int(k)]): v for k, v in metadata[key].items() if int(k) in id_map}
    metadata.pop("positions", None)
    return content


def _layout_order(position: dict) -> dict[str, int]:
    order: dict[str, int] = {}

    def walk(node_id: str) -> None:
        node = position.get(node_id)
        if not isinstance(node, dict):
            return
        order.setdefault(node_id, len(order))
        for child in node.get("children", []):
            walk(child)

    walk("ROOT_ID")
    return order


def normalize_export(exported: dict[str, str], settings: Settings, bundle: Path = BUNDLE_DIR) -> dict[str, str]:
    """Superset's export (path -> YAML text) in the bundle's form: stable file names (the bundle's own for known
    UUIDs, else a slug of the name), the placeholder for the warehouse path, no instance ids, no timestamps."""
    known: dict[str, str] = {}
    if bundle.exists():
        for known_rel, content in load_bundle(bundle).items():
            if isinstance(content, dict) and content.get("uuid"):
                known[content["uuid"]] = known_rel
    warehouse = str(settings.paths.warehouse_file)
    out: dict[str, str] = {"metadata.yaml": yaml.safe_dump({"version": "1.0.0", "type": "assets"}, sort_keys=False)}
    for name, text in exported.items():
        kind = name.split("/", 1)[0]
        if kind not in BUNDLE_FOLDERS:
            continue
        content = yaml.safe_load(text)
        if kind == "databases":
            content["sqlalchemy_uri"] = content["sqlalchemy_uri"].replace(warehouse, WAREHOUSE_PLACEHOLDER)
            content.pop("password", None)
        elif kind == "charts":
            content["params"] = _strip_instance_ids(content.get("params") or {})
            if content.get("query_context"):
                qc = json.loads(content["query_context"])
                qc.pop("datasource", None)
                for query in qc.get("queries", []):
                    query.pop("datasource", None)
                if "form_data" in qc:
                    qc["form_data"] = _strip_instance_ids(qc["form_data"])
                content["query_context"] = json.dumps(qc, sort_keys=True)
        elif kind == "dashboards":
            content = _remap_dashboard(content)
            if content.get("theme_uuid") is None:
                content.pop("theme_uuid", None)
        rel: str | None = known.get(content.get("uuid", ""))
        if rel is None:
            title = content.get("slice_name") or content.get("dashboard_title") or content.get("table_name")
            title = title or content.get("database_name") or content["uuid"]
            folder = name.rsplit("/", 1)[0] if kind == "datasets" else kind
            rel = f"{folder}/{_slug(str(title))}.yaml"
            if kind == "datasets":
                rel = f"datasets/warehouse/{_slug(str(title))}.yaml"
        out[rel] = yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
    return out


def write_bundle(files: dict[str, str], bundle: Path = BUNDLE_DIR) -> list[str]:
    """Replace the bundle's YAML files with ``files``; returns the paths that changed."""
    changed = []
    current = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*.yaml")} if bundle.exists() else set()
    for rel in sorted(current - set(files)):
        (bundle / rel).unlink()
        changed.append(rel)
    for rel, text in sorted(files.items()):
        path = bundle / rel
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        changed.append(rel)
    return changed


# ---- roles, users, row-level security ------------------------------------------------------------------------


def demo_seller_id(settings: Settings) -> str:
    """The seller the demo seller login is bound to: the one with the highest GMV in the published warehouse."""
    import duckdb

    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        row = con.execute(
            "select seller_id from seller_daily group by seller_id order by sum(gmv_reporting) desc, seller_id limit 1"
        ).fetchone()
    finally:
        con.close()
    if row is None:
        raise SupersetError(f"{settings.paths.warehouse_file}: seller_daily is empty, no seller for the demo login")
    return str(row[0])


def demo_logins(settings: Settings | None = None) -> dict[str, Login]:
    """Demo users (passwords generated into credentials.json)."""
    settings = settings or get_settings()
    creds = get_credentials(settings)
    seller_note = "sees one seller's rows only"
    if settings.paths.warehouse_file.exists():
        # a warehouse without seller_daily must not break `lakehouse credentials`
        with contextlib.suppress(Exception):
            seller_note = f"sees seller {demo_seller_id(settings)} only"
    return {
        "admin": Login("admin", creds["superset_admin_password"], ("Admin",)),
        "analyst": Login("analyst", creds["superset_analyst_password"], ("Analyst",), "all dashboards, SQL Lab"),
        "executive": Login("executive", creds["superset_executive_password"], ("Executive",), "Executive KPIs"),
        "seller": Login("seller", creds["superset_seller_password"], ("Seller",), seller_note),
    }


def security_spec(settings: Settings, bundle: Path = BUNDLE_DIR) -> dict[str, Any]:
    files = load_bundle(bundle)
    dashboards = {c["dashboard_title"]: c["uuid"] for r, c in files.items() if r.startswith("dashboards/")}
    missing = set(DASHBOARD_ROLES) - set(dashboards)
    if missing:
        raise SupersetError(f"{bundle}: dashboards missing: {', '.join(sorted(missing))}")
    seller = demo_seller_id(settings)
    seller_role = f"Seller {seller}"
    logins = demo_logins(settings)
    users = []
    for name in DEMO_USERS:
        login = logins[name]
        roles = list(login.roles) + ([seller_role] if name == "seller" else [])
        users.append(
            {
                "username": name,
                "password": login.password,
                "first_name": name.title(),
                "last_name": "Demo",
                "email": f"{name}@lakehouse.local",
                "roles": roles,
            }
        )
    return {
        "roles": {
            "Analyst": {
                "base": ["Gamma", "sql_lab"],
                "all_databases": True,
                "permissions": [["all_datasource_access", "all_datasource_access"]],
            },
            "Executive": {"base": ["Gamma"], "datasets": EXECUTIVE_DATASETS},
            "Seller": {"base": ["Gamma"], "datasets": SELLER_DATASETS},
            seller_role: {"base": []},
        },
        "users": users,
        # filters of one group key are OR-ed: the Seller role alone sees nothing (1 = 0), a seller role adds its own
        "rls": [
            {
                "name": "sellers see nothing by default",
                "roles": ["Seller"],
                "tables": SELLER_DATASETS,
                "clause": "1 = 0",
                "group_key": "seller",
            },
            {
                "name": f"seller {seller}",
                "roles": [seller_role],
                "tables": SELLER_DATASETS,
                "clause": f"seller_id = '{seller}'",
                "group_key": "seller",
            },
        ],
        "dashboard_roles": {dashboards[title]: roles for title, roles in DASHBOARD_ROLES.items()},
    }


# ---- lifecycle -----------------------------------------------------------------------------------------------


def _marker(settings: Settings) -> Path:
    return settings.paths.superset / "bootstrapped.json"


def _lock_hash() -> str:
    import hashlib

    return hashlib.sha256((REPO_ROOT / "requirements" / "superset.lock").read_bytes()).hexdigest()[:16]


def bootstrap(settings: Settings | None = None, echo: Callable[[str], None] = print) -> bool:
    """db upgrade + init + admin, once per LAKEHOUSE_HOME (again when the Superset lock file changes)."""
    settings = settings or get_settings()
    marker = _marker(settings)
    want = {"superset_lock": _lock_hash()}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return False
    echo("superset: first start: creating the metadata database, roles and admin (~30 s)")
    started = time.monotonic()
    _admin(["bootstrap"], settings, "bootstrap")
    marker.write_text(json.dumps(want))
    echo(f"superset: bootstrapped in {time.monotonic() - started:.0f}s")
    return True


def import_bundle(
    settings: Settings | None = None, bundle: Path = BUNDLE_DIR, echo: Callable[[str], None] = print
) -> dict:
    """Import the bundle (overwriting what it defines), then roles, demo users, row-level security."""
    settings = settings or get_settings()
    if not settings.paths.warehouse_file.exists():
        raise SupersetError(
            f"no published warehouse at {settings.paths.warehouse_file}: run `lakehouse build` and `lakehouse publish`"
        )
    problems = validate_bundle(bundle)
    if problems:
        raise SupersetError(f"{bundle} is not valid:\n  " + "\n  ".join(problems))
    bootstrap(settings, echo)
    with tempfile.TemporaryDirectory(dir=settings.paths.superset) as tmp:
        zipped = render_bundle(settings, Path(tmp) / "bundle.zip", bundle)
        spec = Path(tmp) / "security.json"
        spec.write_text(json.dumps(security_spec(settings, bundle)))
        spec.chmod(0o600)
        result = _admin(["import", str(zipped), str(spec)], settings, "import")
    echo(
        f"superset: imported {result.get('imported')} files; {result.get('roles')} roles, {result.get('users')} "
        f"demo users, {result.get('rls')} row-level security filters"
    )
    return result


def export_bundle(
    settings: Settings | None = None,
    bundle: Path = BUNDLE_DIR,
    echo: Callable[[str], None] = print,
    use_server: bool = True,
) -> list[str]:
    """Write what Superset holds (dashboards edited in the UI) back into ``bundle``; returns the changed files.
    Asks the running server when there is one (``use_server``), else exports with a one-off Superset app."""
    settings = settings or get_settings()
    if not _marker(settings).exists():
        raise SupersetError("Superset was never set up here: run `lakehouse superset up` first")
    with tempfile.TemporaryDirectory(dir=settings.paths.superset) as tmp:
        zipped = Path(tmp) / "export.zip"
        if use_server and healthy(settings):  # the running server exports in a second; an app takes ~10 s
            client = Client(url(settings), "admin", get_credentials(settings)["superset_admin_password"])
            resp = client.get("/api/v1/assets/export/")
            if resp.status_code != 200:
                raise SupersetError(f"GET /api/v1/assets/export/: {resp.status_code} {resp.text[:300]}")
            zipped.write_bytes(resp.content)
        else:
            _admin(["export", str(zipped)], settings, "export")
        with zipfile.ZipFile(zipped) as zf:
            exported = {n.split("/", 1)[1]: zf.read(n).decode() for n in zf.namelist() if n.endswith(".yaml")}
    files = normalize_export(exported, settings, bundle)
    changed = write_bundle(files, bundle)
    echo(f"superset: exported {len(files)} files into {bundle}; {len(changed)} changed")
    return changed


def healthy(settings: Settings | None = None, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url(settings)}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(settings: Settings | None = None, workers: int = 2, wait: float = 120.0) -> int:
    """Start gunicorn on 127.0.0.1 in the background (pid file ``run/superset.pid``) and wait for /health."""
    from lakehouse.services import running_services, start_service, stop_service

    settings = settings or get_settings()
    gunicorn = settings.superset_venv / "bin" / "gunicorn"
    if not gunicorn.exists():
        raise SupersetError(f"{gunicorn} not found: run `make setup`")
    argv = [
        str(gunicorn),
        "--bind", f"127.0.0.1:{settings.superset_port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", "4",
        "--timeout", "120",
        "--limit-request-line", "0",
        "--limit-request-field_size", "0",
        "superset.app:create_app()",
    ]  # fmt: skip
    already = SERVICE in running_services(settings)
    pid = start_service(SERVICE, argv, env=superset_env(settings), cwd=settings.paths.superset, settings=settings)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if healthy(settings):
            return pid
        if SERVICE not in running_services(settings):
            break
        time.sleep(0.5)
    log = settings.paths.logs / f"{SERVICE}.log"
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
    if not already:
        stop_service(SERVICE, settings)
    raise SupersetError(f"Superset did not become healthy on {url(settings)} within {wait:.0f}s (log {log}):\n{tail}")


def _bundle_hash(settings: Settings, bundle: Path) -> str:
    import hashlib

    # the security spec too: demo passwords (environment overrides) and the demo seller can change
    digest = hashlib.sha256(json.dumps(security_spec(settings, bundle), sort_keys=True).encode())
    for path in sorted(bundle.rglob("*.yaml")):
        digest.update(path.relative_to(bundle).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def up(settings: Settings | None = None, echo: Callable[[str], None] = print, workers: int = 2) -> str:
    """Bootstrap once, import the bundle if it changed since the last import (so edits made in the UI and not yet
    exported survive a restart), start the server; returns its URL."""
    settings = settings or get_settings()
    if not settings.paths.warehouse_file.exists():
        raise SupersetError(
            f"no published warehouse at {settings.paths.warehouse_file}: run `lakehouse build` and `lakehouse publish`"
        )
    stamp = settings.paths.superset / "imported_bundle.sha256"
    want = _bundle_hash(settings, BUNDLE_DIR)
    if not _marker(settings).exists() or not stamp.exists() or stamp.read_text() != want:
        import_bundle(settings, echo=echo)
        stamp.write_text(want)
    else:
        echo("superset: bundle unchanged since the last import (kept; `lakehouse superset import` forces one)")
    started = time.monotonic()
    pid = start(settings, workers=workers)
    echo(f"superset: serving {url(settings)} (pid {pid}, healthy after {time.monotonic() - started:.0f}s)")
    return url(settings)


def down(settings: Settings | None = None) -> bool:
    from lakehouse.services import stop_service

    return stop_service(SERVICE, settings or get_settings())


def remove_state(settings: Settings) -> None:
    """Forget Superset's metadata (the next ``up`` bootstraps again)."""
    down(settings)
    shutil.rmtree(settings.paths.superset, ignore_errors=True)


# ---- REST client (tests, benchmark, scripts) -----------------------------------------------------------------


class Client:
    """A logged-in session against Superset's REST API (JWT + CSRF token)."""

    def __init__(self, base_url: str, user: str, password: str, timeout: float = 60.0):
        import requests

        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        resp = self.session.post(
            f"{self.base}/api/v1/security/login",
            json={"username": user, "password": password, "provider": "db", "refresh": False},
            timeout=timeout,
        )
        if resp.status_code != 200:
            raise SupersetError(f"login as {user} failed: {resp.status_code} {resp.text[:200]}")
        self.session.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
        csrf = self.session.get(f"{self.base}/api/v1/security/csrf_token/", timeout=timeout)
        if csrf.status_code == 200:
            self.session.headers["X-CSRFToken"] = csrf.json()["result"]
        self.session.headers["Referer"] = self.base

    def get(self, path: str, **kwargs):
        return self.session.get(f"{self.base}{path}", timeout=self.timeout, **kwargs)

    def post(self, path: str, **kwargs):
        return self.session.post(f"{self.base}{path}", timeout=self.timeout, **kwargs)

    def put(self, path: str, **kwargs):
        return self.session.put(f"{self.base}{path}", timeout=self.timeout, **kwargs)

    def list(self, resource: str) -> list[dict]:
        """Every object of ``/api/v1/<resource>/`` (paged; ``q`` is in Rison, here only two integers)."""
        out: list[dict] = []
        page = 0
        while True:
            q = f"(page:{page},page_size:100)"
            resp = self.get(f"/api/v1/{resource}/", params={"q": q})
            if resp.status_code != 200:
                raise SupersetError(f"GET /api/v1/{resource}/: {resp.status_code} {resp.text[:200]}")
            result = resp.json()["result"]
            out.extend(result)
            if len(result) < 100:
                return out
            page += 1

    def chart_data(self, chart_id: int, force: bool = False):
        """``GET /api/v1/chart/<id>/data/`` (the chart's saved query context); the response."""
        return self.get(f"/api/v1/chart/{chart_id}/data/", params={"force": "true"} if force else None)

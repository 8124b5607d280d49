"""Superset administration inside ``.venv-superset``, driven by ``lakehouse.superset`` (one process per step,
instead of three slow ``superset`` CLI runs).

    python dashboards/superset_admin.py bootstrap          # db upgrade + init + admin (password from env)
    python dashboards/superset_admin.py import BUNDLE.zip SECURITY.json
    python dashboards/superset_admin.py export OUT.zip

Needs ``SUPERSET_CONFIG_PATH`` (dashboards/superset_config.py) and ``LAKEHOUSE_HOME`` in the environment.
Prints one JSON line with what it did.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path


def _app():
    from superset.app import create_app

    app = create_app()
    return app


def bootstrap() -> dict:
    import superset
    from flask_migrate import upgrade
    from superset import security_manager
    from superset.extensions import appbuilder, db

    upgrade(directory=str(Path(superset.__file__).parent / "migrations"))
    appbuilder.add_permissions(update_perms=True)
    security_manager.sync_role_definitions()
    password = os.environ["LAKEHOUSE_SUPERSET_PASSWORD"]
    admin = security_manager.find_user(username="admin")
    if admin is None:
        security_manager.add_user(
            "admin", "Lakehouse", "Admin", "admin@lakehouse.local", security_manager.find_role("Admin"), password
        )
    else:
        _set_password(admin, password)
        db.session.commit()
    return {"bootstrapped": True}


def _hash(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def _set_password(user, password: str) -> None:
    from werkzeug.security import check_password_hash

    if not check_password_hash(user.password, password):
        user.password = _hash(password)


def import_bundle(bundle_zip: str, security_json: str) -> dict:
    from superset import security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.extensions import db
    from superset.utils.core import override_user

    admin = security_manager.find_user(username="admin")
    with zipfile.ZipFile(bundle_zip) as zf:
        root = zf.namelist()[0].split("/", 1)[0]
        contents = {
            name.split("/", 1)[1]: zf.read(name).decode()
            for name in zf.namelist()
            if name.endswith(".yaml") and name.startswith(root + "/")
        }
    with override_user(admin):
        ImportAssetsCommand(contents, overwrite=True).run()
    summary = apply_security(json.loads(Path(security_json).read_text()))
    db.session.commit()
    return {"imported": len(contents), **summary}


def _copy_perms(role, base_names: list[str]) -> set:
    from superset import security_manager

    perms = set()
    for name in base_names:
        base = security_manager.find_role(name)
        if base is None:
            raise SystemExit(f"role {name!r} missing: run bootstrap first")
        perms.update(base.permissions)
    return perms


def apply_security(spec: dict) -> dict:
    """Roles (copies of built-in roles plus data access), demo users, row-level security and dashboard roles."""
    from superset import security_manager
    from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
    from superset.extensions import db
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard

    tables = {t.table_name: t for t in db.session.query(SqlaTable).all()}
    databases = db.session.query(Database).all()
    for name, role_spec in spec["roles"].items():
        role = security_manager.find_role(name) or security_manager.add_role(name)
        perms = _copy_perms(role, role_spec.get("base", []))
        for pv_name, view_name in role_spec.get("permissions", []):
            pv = security_manager.find_permission_view_menu(pv_name, view_name)
            if pv is None:
                pv = security_manager.add_permission_view_menu(pv_name, view_name)
            perms.add(pv)
        if role_spec.get("all_databases"):
            for database in databases:
                perms.add(security_manager.add_permission_view_menu("database_access", database.perm))
        for table_name in role_spec.get("datasets", []):
            if table_name not in tables:
                raise SystemExit(f"role {name}: no dataset {table_name!r} in Superset")
            perms.add(security_manager.add_permission_view_menu("datasource_access", tables[table_name].perm))
        role.permissions = sorted(perms, key=lambda p: p.id)
    db.session.commit()
    for user_spec in spec["users"]:
        roles = [security_manager.find_role(r) for r in user_spec["roles"]]
        user = security_manager.find_user(username=user_spec["username"])
        if user is None:
            security_manager.add_user(
                user_spec["username"],
                user_spec["first_name"],
                user_spec["last_name"],
                user_spec["email"],
                roles,
                user_spec["password"],
            )
        else:
            user.roles = roles
            _set_password(user, user_spec["password"])
    db.session.commit()
    for rls in spec["rls"]:
        flt = db.session.query(RowLevelSecurityFilter).filter_by(name=rls["name"]).one_or_none()
        if flt is None:
            flt = RowLevelSecurityFilter(name=rls["name"])
            db.session.add(flt)
        flt.description = rls.get("description", "")
        flt.filter_type = "Regular"
        flt.group_key = rls["group_key"]
        flt.clause = rls["clause"]
        flt.roles = [security_manager.find_role(r) for r in rls["roles"]]
        flt.tables = [tables[t] for t in rls["tables"]]
    db.session.commit()
    dashboards = 0
    for uuid, role_names in spec["dashboard_roles"].items():
        dashboard = db.session.query(Dashboard).filter_by(uuid=uuid).one_or_none()
        if dashboard is None:
            raise SystemExit(f"dashboard {uuid} not found after import")
        dashboard.roles = [security_manager.find_role(r) for r in role_names]
        dashboard.published = True
        dashboards += 1
    db.session.commit()
    return {"roles": len(spec["roles"]), "users": len(spec["users"]), "rls": len(spec["rls"]), "dashboards": dashboards}


def export_bundle(out_zip: str) -> dict:
    from superset import security_manager
    from superset.commands.export.assets import ExportAssetsCommand
    from superset.utils.core import override_user

    count = 0
    with zipfile.ZipFile(out_zip, "w") as zf, override_user(security_manager.find_user(username="admin")):
        for file_name, content in ExportAssetsCommand().run():
            zf.writestr(f"export/{file_name}", content())
            count += 1
    return {"exported": count}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("bootstrap", "import", "export"):
        print(__doc__, file=sys.stderr)
        return 2
    app = _app()
    with app.app_context():
        if argv[0] == "bootstrap":
            result = bootstrap()
        elif argv[0] == "import":
            result = import_bundle(argv[1], argv[2])
        else:
            result = export_bundle(argv[1])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

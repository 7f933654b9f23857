"""Django's own `migrate` for django.contrib.sessions on a SQLite file or a PostgreSQL schema,
driven from sessionlab's tests to prove that each side opens a database the other made.

Usage (JSON on stdout):
  django_migrate.py SQLITE_PATH   -> {"applied": ["sessions.0001_initial", ...]}
  django_migrate.py postgres://USER@HOST:PORT/DB?options=-c%20search_path%3DSCHEMA
                                  -> the same, on that schema (psycopg)
"""

import json
import sys
from urllib.parse import parse_qs, urlsplit

import django
from django.conf import settings


def database(target):
    """Django's DATABASES entry for a SQLite path or a postgres:// URL."""
    if not target.startswith(("postgres://", "postgresql://")):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": target}
    url = urlsplit(target)
    options = parse_qs(url.query).get("options", [""])[0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.hostname or "",
        "PORT": url.port or "",
        "OPTIONS": {"options": options} if options else {},
    }


def main(target):
    settings.configure(
        SECRET_KEY="unused",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={"default": database(target)},
    )
    django.setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    executor.migrate(executor.loader.graph.leaf_nodes(), plan=plan)
    return {"applied": [f"{m.app_label}.{m.name}" for m, _ in plan]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))

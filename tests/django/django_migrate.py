"""Django's own `migrate` for django.contrib.sessions on a SQLite file, driven from sessionlab's
tests to prove that each side opens a database the other made.

Usage (JSON on stdout):
  django_migrate.py SQLITE_PATH   -> {"applied": ["sessions.0001_initial", ...]}
"""

import json
import sys

import django
from django.conf import settings


def main(path):
    settings.configure(
        SECRET_KEY="unused",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": path}},
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

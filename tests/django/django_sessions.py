"""Django's own session code, driven from sessionlab's tests to prove wire compatibility.

Usage (JSON on stdout):
  django_sessions.py db-write  SQLITE_PATH SECRET JSON_DATA      -> {"key": ...}
  django_sessions.py db-read   SQLITE_PATH SECRET KEY            -> {"data": {...} | null}
  django_sessions.py cookie-sign SECRET JSON_DATA                -> {"value": ...}
  django_sessions.py cookie-read SECRET VALUE MAX_AGE            -> {"data": {...} | null}
"""

import json
import sys

import django
from django.conf import settings


def configure(secret, sqlite_path=None, engine="django.contrib.sessions.backends.db"):
    databases = {}
    if sqlite_path:
        databases["default"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path}
    settings.configure(
        SECRET_KEY=secret,
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES=databases,
        SESSION_ENGINE=engine,
    )
    django.setup()


def main(argv):
    command = argv[1]
    if command == "db-write":
        path, secret, data = argv[2], argv[3], json.loads(argv[4])
        configure(secret, path)
        from django.contrib.sessions.backends.db import SessionStore

        store = SessionStore()
        for key, value in data.items():
            store[key] = value
        store.save()
        return {"key": store.session_key}
    if command == "db-read":
        path, secret, key = argv[2], argv[3], argv[4]
        configure(secret, path)
        from django.contrib.sessions.backends.db import SessionStore
        from django.contrib.sessions.models import Session

        if not Session.objects.filter(session_key=key).exists():
            return {"data": None}
        store = SessionStore(session_key=key)
        return {"data": dict(store.items()), "expiry_age": store.get_expiry_age()}
    if command == "cookie-sign":
        secret, data = argv[2], json.loads(argv[3])
        configure(secret, engine="django.contrib.sessions.backends.signed_cookies")
        from django.contrib.sessions.backends.signed_cookies import SessionStore

        store = SessionStore()
        for key, value in data.items():
            store[key] = value
        store.save()
        return {"value": store.session_key}
    if command == "cookie-read":
        secret, value, max_age = argv[2], argv[3], int(argv[4])
        configure(secret, engine="django.contrib.sessions.backends.signed_cookies")
        from django.core import signing

        try:
            data = signing.loads(
                value,
                salt="django.contrib.sessions.backends.signed_cookies",
                max_age=max_age,
            )
        except signing.BadSignature:
            return {"data": None}
        return {"data": data}
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv)))

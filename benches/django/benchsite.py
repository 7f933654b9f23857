"""The basic lesson as a Django 5.2 project in one module, the peer scripts/bench.sh runs under
gunicorn: /set/ (request.session['name'] = 'Sonam'; ['lname'] = 'rathore'), /get/ (read both,
'Guest' when missing) and /healthz (no session), answering small JSON.

The engine comes from BENCH_DJANGO_ENGINE: ``db`` (SQLite at BENCH_DJANGO_DB), ``postgres`` (the
db engine on PostgreSQL: the database of BENCH_POSTGRES_URL, in the schema
BENCH_POSTGRES_SCHEMA, with psycopg 3), ``cache`` (django.core.cache.backends.redis.RedisCache at
BENCH_REDIS_URL under the key prefix BENCH_REDIS_PREFIX) or ``signed_cookies``.

BENCH_DJANGO_PROFILE picks the rest: ``tuned`` (the default: the session middleware alone; SQLite
in WAL mode with synchronous=NORMAL like sessionlab's, IMMEDIATE transactions, persistent
connections) or ``startproject`` (the apps, middleware and database settings that
``django-admin startproject`` writes, which the tutorials start from: seven middleware, SQLite in
its default rollback-journal mode, one connection per request).
"""

import os
from urllib.parse import urlsplit

from django.http import JsonResponse
from django.urls import path

ENGINE = os.environ.get("BENCH_DJANGO_ENGINE", "db")

SECRET_KEY = "django-insecure-sessionlab-development-only-key-8c1f2a7e93d54b06"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
USE_TZ = True
PROFILE = os.environ.get("BENCH_DJANGO_PROFILE", "tuned")
if ENGINE == "postgres":
    _url = urlsplit(os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/"),
            "USER": _url.username or "",
            "PASSWORD": _url.password or "",
            "HOST": _url.hostname or "",
            "PORT": _url.port or "",
            "OPTIONS": {
                "options": f"-c search_path={os.environ.get('BENCH_POSTGRES_SCHEMA', 'public')}"
            },
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_DJANGO_DB", "/tmp/sessionlab-bench-django.sqlite3"),
        }
    }
if PROFILE == "tuned":
    INSTALLED_APPS = ["django.contrib.sessions"]
    MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    # Persistent connections (each worker keeps its own), as sessionlab's pools do.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    if ENGINE != "postgres":
        # Django 5.1+'s advice for concurrent writers: take the write lock at BEGIN.
        DATABASES["default"]["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
elif PROFILE == "startproject":
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
    ]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ],
            },
        },
    ]
    STATIC_URL = "static/"
else:
    raise ValueError(f"BENCH_DJANGO_PROFILE={PROFILE!r}: allowed values are tuned, startproject")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": os.environ.get("BENCH_REDIS_PREFIX", "bench-django"),
    }
}
SESSION_ENGINE = {
    "db": "django.contrib.sessions.backends.db",
    "postgres": "django.contrib.sessions.backends.db",
    "cache": "django.contrib.sessions.backends.cache",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}[ENGINE]


def set_view(request):
    request.session["name"] = "Sonam"
    request.session["lname"] = "rathore"
    return JsonResponse({"set": True})


def get_view(request):
    return JsonResponse(
        {
            "name": request.session.get("name", "Guest"),
            "lname": request.session.get("lname", "Guest"),
        }
    )


def healthz(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("set/", set_view),
    path("get/", get_view),
    path("healthz", healthz),
]

if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()

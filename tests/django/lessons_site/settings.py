"""Settings of the seed programs, for one lesson and one scenario at a time.

``LESSONS_SITE_SCENARIO`` (JSON) names the lesson, the engine, the data directory, the secret
key and the scenario's ``SESSION_*`` settings. They are layered as sessionlab layers its
configuration: Django's defaults, the lesson's mount path as ``SESSION_COOKIE_PATH`` (each
lesson has its own cookie path in sessionlab), the scenario's settings (sessionlab's
``[session]``), then the settings the lesson's seed program gives in its ``settings.py``
(sessionlab's ``[lessons.<slug>]`` in config/default.toml).
"""

import json
import os
from pathlib import Path

SCENARIO = json.loads(os.environ["LESSONS_SITE_SCENARIO"])
DATA_DIR = Path(SCENARIO["data_dir"])
LESSON = SCENARIO["lesson"]

# What each seed program's settings.py changes. The settings program (sessionframework5) sets
# SESSION_COOKIE_PATH = '/home'; sessionlab mounts it at /settings/ and keeps the cookie on that
# path, as every lesson keeps its own.
SEED_SETTINGS = {
    "basic": {},
    "dict": {},
    "timeout": {},
    "testcookie": {},
    "settings": {
        "SESSION_COOKIE_AGE": 400,
        "SESSION_COOKIE_NAME": "sessionname",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
    },
    "pagesession": {"SESSION_COOKIE_AGE": 20},
    # sessionlab's playground, which has no seed program: Django's defaults.
    "playground": {},
}

ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "file": "django.contrib.sessions.backends.file",
    "cache": "django.contrib.sessions.backends.cache",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}

SECRET_KEY = SCENARIO["secret_key"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]

# The seed programs' middleware, less the admin's.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lessons_site.urls"
TEMPLATES = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "django.sqlite3",
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}

# The playground's CSRF cookie lives on its own path, as sessionlab's does. A refusal answers
# with its reason, and a request that says X-Forwarded-Proto: https is taken as made over HTTPS
# (as sessionlab takes it when it trusts forwarded headers), so that the CSRF check's Referer
# rules can be compared; no other scenario sends that header.
CSRF_COOKIE_PATH = "/playground/"
CSRF_FAILURE_VIEW = "lessons_site.views.csrf_failure"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SESSION_ENGINE = ENGINES[SCENARIO["engine"]]
SESSION_FILE_PATH = str(DATA_DIR / "files")
SESSION_COOKIE_PATH = f"/{LESSON}/"
for _name, _value in {**SCENARIO.get("settings", {}), **SEED_SETTINGS[LESSON]}.items():
    if not _name.startswith("SESSION_"):
        raise SystemExit(f"not a session setting: {_name}")
    globals()[_name] = _value

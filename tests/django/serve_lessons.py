"""Serves lessons_site on 127.0.0.1 at a free port, on a clock the caller sets.

Usage: LESSONS_SITE_SCENARIO='{"lesson": ..., "engine": ..., "data_dir": ..., "secret_key":
..., "settings": {...}, "now": EPOCH_SECONDS}' serve_lessons.py

Prints ``port <N>`` once it listens, then serves one request at a time (wsgiref, as Django's
runserver does without threads) until killed. Django's clock (``time.time()``, which
SessionMiddleware, signing, the local-memory cache and wsgiref's ``Date`` read, and
``timezone.now()``, which the session backends read) is stopped at ``now``, and so are the
modification times of the file engine's session files; a request with an
``X-Test-Clock: <epoch seconds>`` header moves it there first (the header is then removed), so
that Django's clock follows the test's as sessionlab's does.
"""

import datetime
import json
import os
import sys
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lessons_site.settings")

SCENARIO = json.loads(os.environ["LESSONS_SITE_SCENARIO"])
clock = {"now": float(SCENARIO["now"])}
time.time = lambda: clock["now"]

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

timezone.now = lambda: datetime.datetime.fromtimestamp(clock["now"], tz=datetime.timezone.utc)

from django.contrib.sessions.backends import file as file_backend  # noqa: E402

_save_session_file = file_backend.SessionStore.save


def save_session_file_on_the_stopped_clock(self, must_create=False):
    """Django's file engine dates a session without a custom expiry by its file's mtime,
    which the operating system writes by the real clock: each saved file is dated by the
    stopped clock instead, as if the save had happened then."""
    _save_session_file(self, must_create=must_create)
    if self.session_key is not None:
        path = self._key_to_file()
        if os.path.exists(path):
            os.utime(path, (clock["now"], clock["now"]))


file_backend.SessionStore.save = save_session_file_on_the_stopped_clock

(Path(SCENARIO["data_dir"]) / "files").mkdir(exist_ok=True)
call_command("migrate", "sessions", verbosity=0)
django_app = WSGIHandler()


def app(environ, start_response):
    moved = environ.pop("HTTP_X_TEST_CLOCK", None)
    if moved is not None:
        clock["now"] = float(moved)
    return django_app(environ, start_response)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


server = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=QuietHandler)
print(f"port {server.server_port}", flush=True)
server.serve_forever()

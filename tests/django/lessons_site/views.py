"""The seed programs' views, each as the tutorial wrote it, answering JSON instead of a template,
and sessionlab's playground (one session method per POST).

What a view does to ``request.session`` is the seed's code line for line, including the lines
that raise ``KeyError`` (a 500 here, where sessionlab's lesson answers 200 and explains). Each
answer then reports the session as the seed's templates show it, after the view ran: the
view's context, ``items()``, ``get_session_cookie_age()``, ``get_expiry_age()``,
``get_expiry_date()``, ``get_expire_at_browser_close()`` and ``test_cookie_worked()``. These only
read what the view already loaded, so they change neither ``accessed`` nor what
``SessionMiddleware`` does.
"""

import datetime
import json

from django.http import Http404, JsonResponse
from django.middleware.csrf import get_token


def answer(request, context):
    session = request.session
    return JsonResponse(
        {
            "context": context,
            "session": {
                "items": [[key, value] for key, value in session.items()],
                "cookie_age": session.get_session_cookie_age(),
                "expiry_age": session.get_expiry_age(),
                "expiry_date": session.get_expiry_date().isoformat(),
                "expire_at_browser_close": session.get_expire_at_browser_close(),
                "test_cookie_worked": session.test_cookie_worked(),
            },
        }
    )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the reason CsrfViewMiddleware gives, which Django's own failure page
    shows only with DEBUG, as JSON, for the differential test of the playground's CSRF check."""
    return JsonResponse({"reason": reason}, status=403)


def lesson_page(request):
    """The lesson's own page: a view that never uses the session."""
    return JsonResponse({"context": {}})


# Program 1 (sessionframework): set, get and delete.
def basic_set(request):
    request.session["name"] = "Sonam"
    request.session["lname"] = "rathore"
    return answer(request, {})


def basic_get(request):
    name = request.session.get("name", default="Guest")
    lname = request.session.get("lname", default="Guest")
    return answer(request, {"name": name, "lname": lname})


def basic_del(request):
    if "name" in request.session:
        del request.session["name"]
        del request.session["lname"]
    return answer(request, {})


# Program 2 (sessionframework2): keys(), items(), setdefault() and flush().
def dict_set(request):
    request.session["name"] = "Sonam"
    request.session["lname"] = "Ronaldo"
    return answer(request, {})


def dict_get(request):
    name = request.session.get("name")
    lname = request.session.get("lname")
    keys = request.session.keys()
    items = request.session.items()
    age = request.session.setdefault("age", "26")
    # The template reads the live keys() and items() views after setdefault().
    return answer(
        request,
        {
            "name": name,
            "lname": lname,
            "keys": list(keys),
            "items": [list(item) for item in items],
            "age": age,
        },
    )


def dict_flush(request):
    request.session.flush()
    return answer(request, {})


# Programs 3 and 5 (sessionframework3, sessionframework5): expiry, and the settings.
def timeout_set(request):
    request.session["name"] = "Sonam"
    request.session.set_expiry(600)
    return answer(request, {})


def timeout_get(request):
    name = request.session["name"]
    return answer(request, {"name": name})


def timeout_del(request):
    request.session.flush()
    request.session.clear_expired()
    return answer(request, {})


# Program 4 (sessionframework4): test cookies.
def settestcookie(request):
    request.session.set_test_cookie()
    return answer(request, {})


def checktestcookie(request):
    return answer(request, {"worked": request.session.test_cookie_worked()})


def deltestcookie(request):
    request.session.delete_test_cookie()
    return answer(request, {})


# The page session (pagesession): SESSION_COOKIE_AGE = 20 and modified = True.
def pagesession_set(request):
    request.session["name"] = "Sonam"
    return answer(request, {})


def pagesession_get(request):
    if "name" in request.session:
        name = request.session["name"]
        request.session.modified = True
        return answer(request, {"name": name})
    else:
        # The seed answers HttpResponse("Your session has Expired..."): the same session
        # work, reported as every other answer is.
        return answer(request, {"expired": True})


# The playground: one session method per POST, as sessionlab's /playground/ calls it. A
# KeyError is caught and reported, as the playground reports it, instead of ending in a 500.
def playground_page(request):
    get_token(request)
    return answer(request, {})


def _expiry(kind, text):
    text = text.strip()
    if kind == "none":
        return None
    if kind == "seconds":
        return int(text)
    if kind == "timedelta":
        return datetime.timedelta(seconds=int(text))
    value = datetime.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def playground_operation(request, operation):
    session, form = request.session, request.POST
    key = form.get("key", "")

    def value(name="value"):
        return json.loads(form[name])

    try:
        if operation == "set":
            session[key] = value()
            result = None
        elif operation == "delete":
            del session[key]
            result = None
        elif operation == "setdefault":
            result = session.setdefault(key, value())
        elif operation == "pop":
            if form.get("default", ""):
                result = session.pop(key, value("default"))
            else:
                result = session.pop(key)
        elif operation == "clear":
            result = session.clear()
        elif operation == "flush":
            result = session.flush()
        elif operation == "cycle_key":
            result = session.cycle_key()
        elif operation == "set_expiry":
            result = session.set_expiry(_expiry(form["kind"], form.get("value", "")))
        else:
            raise Http404(operation)
        raised = None
    except KeyError as error:
        result, raised = None, f"KeyError: {error}"
    return answer(request, {"result": result, "raised": raised})

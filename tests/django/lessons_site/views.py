"""The seed programs' views, each as the tutorial wrote it, answering JSON instead of a template.

What a view does to ``request.session`` is the seed's code line for line, including the lines
that raise ``KeyError`` (a 500 here, where sessionlab's lesson answers 200 and explains). Each
answer then reports the session as the seed's templates show it, after the view ran: the
view's context, ``items()``, ``get_session_cookie_age()``, ``get_expiry_age()``,
``get_expiry_date()``, ``get_expire_at_browser_close()`` and ``test_cookie_worked()``. These only
read what the view already loaded, so they change neither ``accessed`` nor what
``SessionMiddleware`` does.
"""

from django.http import JsonResponse


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

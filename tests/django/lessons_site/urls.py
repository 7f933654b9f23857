"""Each program's urls.py, under the path sessionlab mounts its lesson at."""

from django.urls import path

from lessons_site import views

LESSON_VIEWS = {
    "basic": {"set": views.basic_set, "get": views.basic_get, "del": views.basic_del},
    "dict": {
        "set": views.dict_set,
        "get": views.dict_get,
        "del": views.basic_del,
        "flush": views.dict_flush,
    },
    "timeout": {"set": views.timeout_set, "get": views.timeout_get, "del": views.timeout_del},
    "settings": {"set": views.timeout_set, "get": views.timeout_get, "del": views.timeout_del},
    "testcookie": {
        "set": views.settestcookie,
        "check": views.checktestcookie,
        "del": views.deltestcookie,
    },
    "pagesession": {
        "set": views.pagesession_set,
        "get": views.pagesession_get,
        "del": views.timeout_del,
    },
}

urlpatterns = (
    [path(f"{lesson}/", views.lesson_page) for lesson in LESSON_VIEWS]
    + [
        path(f"{lesson}/{name}/", view)
        for lesson, named in LESSON_VIEWS.items()
        for name, view in named.items()
    ]
    + [
        path("playground/", views.playground_page),
        path("playground/<str:operation>/", views.playground_operation),
    ]
)

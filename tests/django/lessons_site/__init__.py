"""The Django tutorial programs that sessionlab's lessons reproduce, as one Django 5.2 project.

Served by ``serve_lessons.py`` for tests/django_differential.rs, which sends the same clicks to
this project and to sessionlab and compares the session parts of the answers.
"""

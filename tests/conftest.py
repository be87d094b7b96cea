"""Shared fixtures: the demo day, a generated large day, users."""

from __future__ import annotations

import os

import pytest

from talks.demo import DOCKERCON_2016_DAY_1
from talks.documents import save_day
from tests.factories import make_big_day


@pytest.fixture
def demo_day(db):
    day, _ = save_day(DOCKERCON_2016_DAY_1)
    return day


@pytest.fixture
def big_day(db):
    return make_big_day(talks=200, highlights_per_talk=10)


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_user(
        username="editor", password="editor-password", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_user(db, django_user_model):
    return django_user_model.objects.create_user(username="reader", password="reader-password")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}

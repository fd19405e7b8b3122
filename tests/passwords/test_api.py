"""GET /range/{prefix} as an HIBP client sees it, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shopshield.app import create_app
from shopshield.bootstrap import Container
from shopshield.settings import Settings
from tests.support.password_lists import build, hibp_file, sha1
from tests.support.world import World, make_world

BREACHED = {"password": 9_659_365, "123456": 37_359_195, "iloveyou": 1_645_337}


@pytest.fixture
def world(container: Container, settings: Settings) -> Iterator[World]:
    directory = settings.effective_passwords_dir()
    source = hibp_file(settings.resolved_data_dir() / "hibp.txt", {sha1(p): c for p, c in BREACHED.items()})
    build(directory, source)
    w = make_world(container)
    yield w
    w.client.close()


def pwned_count(client: TestClient, password: str, *, padding: bool = False) -> int:
    """What an HIBP client does: hash, send the prefix, look for the suffix among the lines."""
    digest = hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 - HIBP's format
    headers = {"Add-Padding": "true"} if padding else {}
    response = client.get(f"/range/{digest[:5]}", headers=headers)
    assert response.status_code == 200
    for line in response.text.splitlines():
        suffix, _, count = line.partition(":")
        if suffix == digest[5:]:
            return int(count)
    return 0


def test_an_hibp_client_finds_breached_passwords(world: World) -> None:
    for password, count in BREACHED.items():
        assert pwned_count(world.client, password) == count
        assert pwned_count(world.client, password, padding=True) == count
    assert pwned_count(world.client, "a password nobody ever used 7f3e") == 0


def test_response_is_hibps_text(world: World) -> None:
    digest = sha1("password")

    response = world.client.get(f"/range/{digest[:5].lower()}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == f"{digest[5:]}:{BREACHED['password']}".encode()
    assert world.client.get("/range/00000").content == b""  # every prefix answers 200


def test_padding(world: World) -> None:
    digest = sha1("password")

    body = world.client.get(f"/range/{digest[:5]}", headers={"Add-Padding": "True"}).content
    lines = body.split(b"\r\n")

    assert 800 <= len(lines) <= 1000 and not body.endswith(b"\r\n")
    assert [line for line in lines if not line.endswith(b":0")] == [f"{digest[5:]}:{BREACHED['password']}".encode()]
    assert world.client.get(f"/range/{digest[:5]}", headers={"Add-Padding": "false"}).content.count(b"\r\n") == 0


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("5BAA", "The hash prefix was not in a valid format"),
        ("5BAA61", "The hash prefix was not in a valid format"),
        ("5BAG6", "The hash prefix was not valid hexadecimal"),
        ("5B A6", "The hash prefix was not valid hexadecimal"),
    ],
)
def test_bad_prefix(world: World, prefix: str, message: str) -> None:
    response = world.client.get(f"/range/{prefix}")

    assert response.status_code == 400
    assert response.text == message
    assert response.headers["content-type"].startswith("text/plain")


def test_ntlm_mode_is_refused(world: World) -> None:
    response = world.client.get("/range/5BAA6?mode=ntlm")

    assert response.status_code == 400 and "NTLM" in response.text
    assert world.client.get("/range/5BAA6?mode=sha1").status_code == 200


def test_range_can_require_a_token(container: Container, settings: Settings) -> None:
    container.settings = settings.model_copy(update={"passwords_range_public": False})
    w = make_world(container)
    try:
        assert w.client.get("/range/5BAA6").status_code == 401
        assert w.client.get("/range/5BAA6", headers=w.headers("agent")).status_code == 200
    finally:
        w.client.close()


def test_without_a_corpus_every_range_is_empty(container: Container) -> None:
    with TestClient(create_app(container, checkpoints=False)) as client:  # runs the start-up load
        response = client.get(f"/range/{sha1('password')[:5]}")
    assert response.status_code == 200 and response.content == b""
    assert container.passwords.count(sha1("password")) == 0

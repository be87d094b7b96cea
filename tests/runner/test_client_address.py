"""The client's address (runner.addresses.client_address), which the audit rows and every
per-address limit use (F3 of the security review).

Behind the README's production setup (gunicorn on 127.0.0.1 behind a TLS proxy,
BEHIND_TLS_PROXY=true) REMOTE_ADDR is the proxy's for everyone: the client's address is the
last X-Forwarded-For entry, the one our proxy appended. A client may write anything before it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client, RequestFactory

from runner import views
from runner.addresses import client_address, client_net
from runner.models import Run
from runner.sandbox_actions import RESET_LINE
from tests.runner.swarm_fixtures import give_sandbox
from tests.visitors import as_visitor

HX = {"HTTP_HX_REQUEST": "true"}
PROXY = "127.0.0.1"  # gunicorn's peer behind the proxy: the proxy itself
CLIENT = "203.0.113.7"
SPOOFED = "198.51.100.66"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxy(settings):
    """BEHIND_TLS_PROXY=true (settings.py derives SECURE_PROXY_SSL_HEADER from it)."""
    settings.BEHIND_TLS_PROXY = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def no_proxy(settings):
    settings.BEHIND_TLS_PROXY = False
    settings.SECURE_PROXY_SSL_HEADER = None


def address(forwarded: str | None = None, remote: str | None = PROXY) -> str | None:
    meta = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return client_address(request)


# -- the function ----------------------------------------------------------------------------


def test_without_the_proxy_it_is_the_peer_and_x_forwarded_for_is_ignored(no_proxy):
    assert address(remote="192.0.2.5") == "192.0.2.5"
    assert address(f"{CLIENT}", remote="192.0.2.5") == "192.0.2.5"
    assert address(f"{SPOOFED}, {CLIENT}", remote="192.0.2.5") == "192.0.2.5"


def test_behind_the_proxy_it_is_the_last_entry_the_proxy_appended(proxy):
    assert address(CLIENT) == CLIENT
    assert address(f"{SPOOFED}, {CLIENT}") == CLIENT
    # Whatever the client wrote first (entries, garbage, the victim's address) is never read.
    assert address(f"{SPOOFED}, 10.0.0.1, nonsense,{CLIENT}") == CLIENT
    assert address(f"{CLIENT}, {SPOOFED}") == SPOOFED  # the last one: what the proxy saw
    # Several headers reach Django as one list, joined in order: the proxy's is still last.
    assert address(f"{SPOOFED},{SPOOFED} ,  {CLIENT}  ") == CLIENT


@pytest.mark.parametrize(
    "forwarded",
    [
        None,  # no header: the proxy added none
        "",
        "  ",
        f"{CLIENT},",  # an empty last entry
        f"{CLIENT}, unknown",
        f"{CLIENT}, {CLIENT}:443",  # a port is not an address
        f"{CLIENT}, [2001:db8::1]",
        f"{CLIENT}, 2001:db8::1:443:1:2:3:4:5",
        f"{CLIENT}, fe80::1%eth0",  # scoped: no client's, and not storable
        f"{CLIENT}, 999.1.1.1",
        f"{CLIENT}, 01.2.3.4",
        f"{CLIENT}, example.com",
        "for=192.0.2.60;proto=https",  # RFC 7239 syntax is not X-Forwarded-For
    ],
)
def test_behind_the_proxy_a_missing_or_bad_last_entry_falls_back_to_the_peer(proxy, forwarded):
    assert address(forwarded) == PROXY  # never the client's first entry instead


def test_addresses_are_canonical_so_one_client_is_one_address(proxy):
    assert address("2001:DB8:0:0:0:0:0:1") == "2001:db8::1"
    assert address("::ffff:203.0.113.7") == CLIENT
    assert address(f"{SPOOFED}, ::FFFF:cb00:7107") == CLIENT


def test_a_peer_that_is_no_address_gives_none(no_proxy, settings):
    assert address(remote=None) is None
    assert address(remote="") is None
    assert address(remote="unix:/run/gunicorn.sock") is None
    settings.BEHIND_TLS_PROXY = True
    assert address("garbage", remote="") is None
    assert address(CLIENT, remote="") == CLIENT


@pytest.mark.parametrize(("value", "expected"), [("true", CLIENT), (None, PROXY)])
def test_the_environment_variable_decides_with_the_production_settings(value, expected):
    code = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from runner.addresses import client_address\n"
        f"request = RequestFactory().get('/', HTTP_X_FORWARDED_FOR='{SPOOFED}, {CLIENT}')\n"
        f"request.META['REMOTE_ADDR'] = '{PROXY}'\n"
        "print(client_address(request))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"BEHIND_TLS_PROXY", "DEBUG"}}
    env |= {"DJANGO_SETTINGS_MODULE": "notes_site.settings", "DEBUG": "true"}
    if value is not None:
        env["BEHIND_TLS_PROXY"] = value
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


# -- through the site: the audit rows and the per-address limits ------------------------------


def behind_proxy_client(forwarded: str, key: str | None = None) -> Client:
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    return as_visitor(client, key) if key else client


@pytest.mark.django_db
def test_audit_rows_record_the_real_client_behind_the_proxy(proxy, line, monkeypatch):
    monkeypatch.setattr(views, "reset_sandbox", SimpleNamespace(enqueue=lambda visitor: None))
    key = "d" * 24
    client = behind_proxy_client(f"{SPOOFED}, {CLIENT}", key)
    assert client.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    assert client.post(f"/run/snippet/{line.snippet_id}/", **HX).status_code == 200
    give_sandbox(key)
    assert client.post("/sandbox/reset/", **HX).status_code == 200
    rows = list(Run.objects.values_list("line", "remote_addr"))
    assert (line.command, CLIENT) in rows and (RESET_LINE, CLIENT) in rows
    assert {addr for _, addr in rows} == {CLIENT}  # never the proxy's, never the spoofed one


@pytest.mark.django_db
def test_without_the_proxy_setting_the_audit_keeps_the_peer(no_proxy, line):
    client = behind_proxy_client(f"{SPOOFED}, {CLIENT}")
    assert client.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    assert Run.objects.get().remote_addr == PROXY


@pytest.mark.django_db
def test_one_client_behind_the_proxy_no_longer_blocks_every_visitor(proxy, line, settings):
    """The review's flood: cookie-less POSTs used to exhaust one limit shared by the whole
    site (the proxy's address). Now they exhaust the flooding client's address only, however
    it varies the entries it writes itself."""
    settings.RUNNER_RATE_PER_MINUTE = 1
    settings.RUNNER_MODE = "off"  # nothing to run: only the limits are at stake
    for n in range(3):  # three cookies from one client: three times a visitor's limit
        flood = behind_proxy_client(f"10.9.9.{n}, {CLIENT}")
        assert flood.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    refused = behind_proxy_client(f"10.9.9.9, {CLIENT}").post(f"/run/line/{line.pk}/", **HX)
    assert refused.status_code == 429
    assert "Too many runs from your network address" in refused.content.decode()
    reader = behind_proxy_client("192.0.2.80")  # another reader, through the same proxy
    assert reader.post(f"/run/line/{line.pk}/", **HX).status_code == 200
    spoofing = behind_proxy_client(f"{CLIENT}, 192.0.2.81")  # claims to be the flooder
    assert spoofing.post(f"/run/line/{line.pk}/", **HX).status_code == 200


@pytest.mark.parametrize(
    ("address", "net"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:db8:0:0:ffff:1:2:3", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        (None, None),
    ],
)
def test_the_limits_count_an_ipv4_address_or_an_ipv6_64(address, net):
    assert client_net(address) == net

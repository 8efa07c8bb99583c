"""The dashboard in a real headless Chromium (Debian's), driven by Playwright, against a real dev server."""

from __future__ import annotations

import json
import os

import httpx
import hvac
import pytest
from playwright.sync_api import sync_playwright

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(REPO, "docs", "screenshots")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SECRET = "ui-planted-value-4471"


@pytest.fixture
def seeded(fresh_server, tmp_path):
    c = hvac.Client(url=fresh_server.addr, token="root")
    log = str(tmp_path / "audit.log")
    c.sys.enable_audit_device("file", options={"file_path": log})
    c.secrets.kv.v2.create_or_update_secret("team/app", {"password": SECRET, "user": "app"})
    c.sys.enable_secrets_engine("transit")
    c.secrets.transit.create_key("payments")
    victim = c.auth.token.create(policies=["default"], ttl="1h", display_name="victim")["auth"]
    return fresh_server, c, log, victim


def _reads_of(log: str, path: str) -> int:
    n = 0
    with open(log) as f:
        for line in f:
            e = json.loads(line)
            if e["type"] == "response" and e["request"]["path"] == path and e["request"]["operation"] == "read":
                n += 1
    return n


def test_dashboard_end_to_end(seeded):
    server, _client, log, victim = seeded
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        page.goto(f"{server.addr}/ui/")
        assert "/ui/login" in page.url
        page.screenshot(path=os.path.join(SHOTS, "login.png"))
        page.fill("#token", "root")
        page.click("text=Sign in with token")
        page.wait_for_selector("h1:has-text('Overview')")
        # browse to the secret: values are masked until revealed
        page.click("nav >> text=Secrets")
        page.click("text=secret/")
        page.click("text=team/")
        page.click("text=app")
        page.wait_for_selector(".masked")
        assert SECRET not in page.content()
        before = _reads_of(log, "secret/data/team/app")
        page.click("button.reveal")
        page.wait_for_selector(f".masked:has-text('{SECRET}')")
        assert _reads_of(log, "secret/data/team/app") == before + 1, "each reveal is an audited read"
        page.screenshot(path=os.path.join(SHOTS, "secret.png"), full_page=True)
        # revoke a token from the tokens page
        page.click("nav >> text=Tokens")
        page.click(f"button[aria-label='Revoke token {victim['accessor']}']")
        page.wait_for_selector("h1:has-text('Tokens and leases')")
        with pytest.raises(hvac.exceptions.Forbidden):
            hvac.Client(url=server.addr, token=victim["client_token"]).auth.token.lookup_self()
        page.screenshot(path=os.path.join(SHOTS, "tokens.png"), full_page=True)
        # activity chart from the audit log
        page.click("nav >> text=Activity")
        page.wait_for_selector("svg.chart")
        assert page.locator("svg.chart").count() >= 2
        page.screenshot(path=os.path.join(SHOTS, "activity.png"), full_page=True)
        page.click("nav >> text=Policies")
        page.fill("#xpath", "secret/data/team/app")
        page.click("button:has-text('Explain')")
        page.wait_for_selector(".verdict")
        page.screenshot(path=os.path.join(SHOTS, "policies.png"), full_page=True)
        page.click("nav >> text=Keys")
        page.wait_for_selector("text=payments")
        page.screenshot(path=os.path.join(SHOTS, "keys.png"), full_page=True)
        # keyboard: the skip link is the first focusable element
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        browser.close()
    # the token never reaches the page, the URL or storage
    with open(log) as f:
        assert SECRET not in f.read()


def test_session_csrf_and_headers(fresh_server):
    base = fresh_server.addr
    with httpx.Client(base_url=base, follow_redirects=False) as h:
        r = h.post("/ui/login", data={"method": "token", "token": "root"})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "root" not in cookie
        page = h.get("/ui/secrets/secret/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "root" not in page.text.split("<main", 1)[1].replace(">root<", "")
        # a form post without the CSRF token is refused
        assert h.post("/ui/secrets/secret/x", data={"data": "{}"}).status_code == 403
        assert h.post("/ui/api/reveal", json={"mount": "secret", "path": "x"}).status_code == 403
        # a tampered session cookie signs you out
        h.cookies.set("sr_session", "AAAA" + h.cookies.get("sr_session")[4:], path="/ui")
        assert h.get("/ui/").status_code == 303
    with httpx.Client(base_url=base) as h:
        bad = h.post("/ui/login", data={"method": "token", "token": "wrong"})
        assert bad.status_code == 401 and "Sign-in failed" in bad.text

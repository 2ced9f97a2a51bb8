"""Problem titles in Chinese and English, by Accept-Language; type and code stay English."""

from __future__ import annotations

import http
import importlib
import pkgutil
from uuid import uuid4

import pytest

from api.problem_titles import ZH_TITLES, english_title, title_of
from ledger.domain.errors import LedgerError
from tests.api.support import World, assert_problem

PACKAGES = ("ledger", "api", "anchoring")


def _error_classes() -> set[type[LedgerError]]:
    for package in PACKAGES:  # import every module, so every error class is defined
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, package + "."):
            importlib.import_module(module.name)
    found: set[type[LedgerError]] = set()
    pending = [LedgerError]
    while pending:
        kind = pending.pop()
        found.add(kind)
        pending.extend(kind.__subclasses__())
    return found


def every_code() -> set[str]:
    """Every code the API can answer: those of the error classes, those made of HTTP
    status phrases (api.problems._http_error), and internal-error."""
    codes = {kind.code for kind in _error_classes()}
    codes |= {status.phrase.lower().replace(" ", "-").replace("'", "")
              for status in http.HTTPStatus if status >= 400}
    return codes | {"internal-error"}


def test_every_code_has_a_title_in_both_languages():
    codes = every_code()
    assert {"insufficient-balance", "projection-stuck", "certificate-unavailable",
            "database-unavailable", "request-too-large", "method-not-allowed",
            "validation-error", "unknown-tile"} <= codes  # the enumeration reaches them all
    missing = sorted(code for code in codes if not ZH_TITLES.get(code, "").strip())
    assert missing == []
    for code in codes:
        assert title_of(code, "en") == english_title(code)
        assert title_of(code, "zh") != title_of(code, "en")
        assert not any("a" <= c.lower() <= "z" for c in title_of(code, "zh").replace(
            "API", "").replace("JSON", "").replace("HTTP", "").replace("URI", ""))


def test_english_titles_are_unchanged():
    assert english_title("insufficient-balance") == "Insufficient balance"
    assert english_title("invalid-api-key") == "Invalid API key"


@pytest.mark.parametrize(("accept", "language", "title"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh", "未知批次"),
    ("en-GB", "en", "Unknown batch"),
    ("fr", "en", "Unknown batch"),
    (None, "en", "Unknown batch"),
    ("en;q=0.5, zh-TW", "zh", "未知批次"),
])
def test_title_follows_accept_language(world: World, accept: str | None, language: str,
                                       title: str):
    headers = {"Accept-Language": accept} if accept else {}
    response = world.api.client.get(f"/batches/{uuid4()}", headers=headers)
    body = assert_problem(response, 404, "unknown-batch")
    assert body["title"] == title
    assert body["type"].endswith("/unknown-batch")  # type and code stay English
    assert "batch" in body["detail"]  # detail stays English: it carries the values
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()


def test_every_kind_of_problem_is_titled(world: World):
    zh = {"Accept-Language": "zh"}
    client = world.api.client
    checks = [
        (client.get("/nowhere", headers=zh), 404, "not-found"),
        (client.delete("/supply", headers=zh), 405, "method-not-allowed"),
        (client.get("/retirements", params={"limit": 0}, headers=zh), 422, "validation-error"),
        (client.get("/me", headers=zh), 401, "invalid-api-key"),
        (client.post("/claims", content=b"x" * 70_000, headers={
            **zh, "Content-Type": "application/json"}), 413, "request-too-large"),
    ]
    for response, status, code in checks:
        body = assert_problem(response, status, code)
        assert body["title"] == ZH_TITLES[code], body
        assert response.headers["content-language"] == "zh"


def test_command_problems_are_titled(world: World):
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "10 t")
    response = world.api.post(platform, "/transfers", json={
        "batch_id": str(batch), "recipient": str(world.actors["enterprise"].id),
        "quantity_g": 99 * 1_000_000}, headers={"Accept-Language": "zh-CN"})
    body = assert_problem(response, 409, "insufficient-balance")
    assert body["title"] == "余额不足"
    assert response.headers["content-language"] == "zh"

"""/docs and /redoc load nothing from outside the app; the committed files are the fetched."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib

import pytest

from api.docs_pages import ASSETS_DIR
from tests.api.support import World

URL = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]""")
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png",
         ".json": "application/json"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_reference_no_external_host(world: World, page: str):
    response = world.api.client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+", html) == []  # no CDN, no fonts
    referenced = {a or b for a, b in URL.findall(html)}
    assert "/openapi.json" in referenced
    assert any(url.endswith(".js") for url in referenced)
    for url in referenced:
        assert url.startswith("/"), url
        asset = world.api.client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind("."):]
        assert TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 0


def test_committed_assets_match_the_manifest():
    manifest = json.loads((ASSETS_DIR / "MANIFEST.json").read_text())
    assert set(manifest) == {"swagger-ui-dist", "redoc"}
    listed = set()
    for package in manifest.values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"])
        for name, digest in package["files"].items():
            listed.add(name)
            assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name
    assert {"swagger-ui/LICENSE", "redoc/LICENSE"} <= listed
    on_disk = {str(p.relative_to(ASSETS_DIR)) for p in ASSETS_DIR.rglob("*") if p.is_file()}
    assert on_disk == listed | {"MANIFEST.json"}  # nothing unlisted is served


def test_the_assets_are_package_data():
    """Every asset matches a package-data pattern of ``api``, so the wheel ships it."""
    pyproject = tomllib.loads((ASSETS_DIR.parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["api"]
    for path in ASSETS_DIR.rglob("*"):
        if path.is_file():
            relative = str(path.relative_to(ASSETS_DIR.parents[1]))
            assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative

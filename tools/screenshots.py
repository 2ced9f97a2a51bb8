"""Screenshots of the explorer's main pages, in Chinese and English, for docs/screenshots/.

Usage (from the repository root, with the test extra installed and Debian's chromium)::

    python tools/screenshots.py [--out docs/screenshots] [--people 300]

A demo ledger (``ledger.demo.run_demo``, with fewer people) is built in a temporary
directory on the embedded chain and anchored, served on 127.0.0.1 by the API app, and every
main page that the explorer serves is captured in both languages: the overview, the batches,
a batch, the retirements, the checkpoints, the certificate page of a retirement (verified in
the browser) and the certificate verifier refusing a forged certificate (another
beneficiary), and ``/docs`` if it renders. A page the explorer does not serve (404) is
skipped and said so. Chromium is
Debian's (``/usr/bin/chromium``), never downloaded.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.demo import run_demo  # noqa: E402
from ledger.runtime import LedgerRuntime, Settings  # noqa: E402
from tests.browser.live import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

LANGUAGES = ("en", "zh")
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000


def _json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _wait_for_verdict(page: Any) -> None:
    page.wait_for_selector("#verdict:not([data-verdict='pending'])", timeout=TIMEOUT_MS)


def capture(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    retirement = _json(f"{base}/retirements?limit=1")["items"][0]
    certificate = _json(f"{base}/retirements/{retirement['id']}/certificate")
    forged = copy.deepcopy(certificate)
    forged["record"]["beneficiary"] = "Someone Else Ltd."
    pages: list[tuple[str, str]] = [
        ("overview", "/explorer/"),
        ("batches", "/explorer/batches"),
        ("batch", f"/explorer/batches/{retirement['batch_id']}"),
        ("retirements", "/explorer/retirements"),
        ("checkpoints", "/explorer/checkpoints"),
        ("certificate-verified", f"/explorer/certificates/{retirement['id']}"),
    ]
    saved: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for lang in LANGUAGES:
            context = browser.new_context(viewport=VIEWPORT,
                                          locale="zh-CN" if lang == "zh" else "en-US")
            page = context.new_page()
            for name, path in pages:
                url = f"{base}{path}?lang={lang}"
                if _status(url) == 404:
                    print(f"skipped {name}: {path} is not served (404)")
                    continue
                page.goto(url)
                if name.startswith("certificate"):
                    _wait_for_verdict(page)
                target = out / f"{name}-{lang}.png"
                page.screenshot(path=str(target), full_page=True)
                saved.append(target)
            page.goto(f"{base}/explorer/certificates?lang={lang}")
            page.fill("#certificate-input", json.dumps(forged))
            page.click("#verify-button")
            _wait_for_verdict(page)
            page.locator("#verdict").scroll_into_view_if_needed()
            target = out / f"certificate-forged-{lang}.png"
            page.screenshot(path=str(target), full_page=True)
            saved.append(target)
            context.close()
        saved += _api_docs(browser, base, out)
        browser.close()
    return saved


def _api_docs(browser: Any, base: str, out: Path) -> list[Path]:
    """``/docs`` (FastAPI's Swagger UI), if it renders: its scripts come from a CDN, which a
    machine without Internet access cannot reach (then it is skipped, and said so)."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{base}/docs")
        page.wait_for_selector(".swagger-ui .info", timeout=10_000)
    except Exception as error:  # playwright's TimeoutError, or a refused CDN request
        print(f"skipped api-docs: /docs did not render ({type(error).__name__}; Swagger UI "
              "loads from a CDN)")
        page.close()
        return []
    target = out / "api-docs.png"
    page.screenshot(path=str(target))
    page.close()
    return [target]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--people", type=int, default=300,
                        help="people of the demo's generated behaviour data")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"screenshots: {CHROMIUM} is not installed (Debian package chromium)")
    with tempfile.TemporaryDirectory() as scratch, \
            LedgerRuntime(Settings(data_dir=Path(scratch) / "ledger")) as runtime:
        run_demo(runtime, say=lambda _: None, people=args.people)
        runtime.sync()
        runtime.anchoring.anchor_now()
        with serve(runtime) as base:
            for path in capture(base, args.out):
                print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()

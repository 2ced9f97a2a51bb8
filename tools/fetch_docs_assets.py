"""Fetch the Swagger UI and ReDoc files that /docs and /redoc serve, from the npm registry.

The API serves its documentation pages without any CDN (an intranet, or a network where a
CDN is slow or blocked, would see a blank page): the files are committed in
``api/static/docs/`` with their licences, at the versions pinned below, and listed with their
SHA-256 in ``api/static/docs/MANIFEST.json`` (``tests/api/test_docs_pages.py`` checks the
committed files against it).

To upgrade: change a version below, run ``python tools/fetch_docs_assets.py`` (needs ``npm``;
``npm pack`` checks the tarball's integrity against the registry), look at /docs and /redoc,
commit the files and the manifest together.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "api" / "static" / "docs"
MANIFEST = ASSETS / "MANIFEST.json"

# package -> (pinned version, directory under api/static/docs, {file in the tarball: name})
PACKAGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "swagger-ui-dist": ("5.35.0", "swagger-ui", {
        "package/swagger-ui-bundle.js": "swagger-ui-bundle.js",
        "package/swagger-ui.css": "swagger-ui.css",
        "package/favicon-32x32.png": "favicon-32x32.png",
        "package/LICENSE": "LICENSE",
        "package/NOTICE": "NOTICE",
    }),
    # ReDoc 2: the version FastAPI's get_redoc_html page is written for.
    "redoc": ("2.5.4", "redoc", {
        "package/bundles/redoc.standalone.js": "redoc.standalone.js",
        "package/LICENSE": "LICENSE",
    }),
}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(package: str, version: str, directory: str, files: dict[str, str],
          work: Path) -> dict[str, object]:
    """Unpack ``files`` of ``package@version`` into ``api/static/docs/directory``."""
    packed = subprocess.run(["npm", "pack", "--json", f"{package}@{version}"], cwd=work,
                            check=True, capture_output=True, text=True)
    info = json.loads(packed.stdout)[0]
    target = ASSETS / directory
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(work / info["filename"]) as tarball:
        for member, name in files.items():
            source = tarball.extractfile(member)
            if source is None:
                raise SystemExit(f"{package}@{version} has no file {member}")
            (target / name).write_bytes(source.read())
    return {"version": version, "integrity": info["integrity"],
            "files": {f"{directory}/{name}": sha256_of(target / name)
                      for name in sorted(files.values())}}


def main() -> int:
    manifest: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as work:
        for package, (version, directory, files) in PACKAGES.items():
            manifest[package] = fetch(package, version, directory, files, Path(work))
            print(f"{package}@{version} -> api/static/docs/{directory}")
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

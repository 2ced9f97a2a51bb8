"""The committed contract artifacts must match a fresh compilation with the pinned solc.

Recompiles every contract with ``contracts/compile.js`` into a temporary directory (committed
files are never rewritten) and compares the result with ``contracts/artifacts``. Needs node; the
pinned toolchain is installed with ``npm ci --prefix contracts`` when it is missing.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contracts import load_artifact

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
COMMITTED = sorted(path.stem for path in ARTIFACTS_DIR.glob("*.json"))
HOW_TO_FIX = "recompile with `npm ci --prefix contracts && node contracts/compile.js` and commit"


def ensure_solc_installed() -> None:
    if (CONTRACTS_DIR / "node_modules" / "solc" / "package.json").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("contracts/node_modules is missing and `npm` is not on PATH")
    result = subprocess.run(
        [npm, "ci", "--prefix", str(CONTRACTS_DIR)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"npm ci --prefix contracts failed:\n{result.stderr}"


@pytest.fixture(scope="module")
def fresh_artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node = shutil.which("node")
    if node is None:
        pytest.skip("`node` is not on PATH: cannot recompile the contracts to check for drift")
    ensure_solc_installed()
    out_dir = tmp_path_factory.mktemp("artifacts")
    result = subprocess.run(
        [node, str(CONTRACTS_DIR / "compile.js"), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"compile.js failed:\n{result.stderr}"
    return out_dir


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_artifacts_are_committed():
    assert "AnchorRegistry" in COMMITTED


def test_compile_js_produces_exactly_the_committed_artifacts(fresh_artifacts_dir):
    fresh = sorted(path.stem for path in fresh_artifacts_dir.glob("*.json"))
    assert fresh == COMMITTED, HOW_TO_FIX


@pytest.mark.parametrize("name", COMMITTED)
@pytest.mark.parametrize("key", ["abi", "bytecode", "deployedBytecode"])
def test_committed_artifact_matches_fresh_compilation(fresh_artifacts_dir, name, key):
    fresh = read_json(fresh_artifacts_dir / f"{name}.json")
    committed = load_artifact(name)
    assert committed[key] == fresh[key], f"{name}.json: {key} drifted; {HOW_TO_FIX}"


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_artifact_file_is_byte_identical(fresh_artifacts_dir, name):
    # Also catches stale sourceSha256/compiler/settings (e.g. a comment-only source change).
    fresh = (fresh_artifacts_dir / f"{name}.json").read_bytes()
    committed = (ARTIFACTS_DIR / f"{name}.json").read_bytes()
    assert committed == fresh, f"{name}.json is out of date; {HOW_TO_FIX}"


@pytest.mark.parametrize("name", COMMITTED)
def test_artifact_metadata(name):
    artifact = load_artifact(name)
    assert artifact["contractName"] == name
    assert sorted(artifact) == [
        "abi",
        "bytecode",
        "compiler",
        "contractName",
        "deployedBytecode",
        "settings",
        "sourceSha256",
    ]
    pinned = read_json(CONTRACTS_DIR / "package.json")["devDependencies"]["solc"]
    assert artifact["compiler"].startswith(f"{pinned}+commit.")
    assert artifact["bytecode"].startswith("0x")
    assert artifact["deployedBytecode"].startswith("0x")


@pytest.mark.parametrize("name", ["", "../package", "AnchorRegistry.json", "a/b"])
def test_load_artifact_rejects_invalid_names(name):
    with pytest.raises(ValueError, match="invalid contract name"):
        load_artifact(name)


def test_load_artifact_unknown_contract():
    with pytest.raises(FileNotFoundError, match="NoSuchContract"):
        load_artifact("NoSuchContract")

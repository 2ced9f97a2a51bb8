"""The Dockerfile and compose.yaml, checked without a Docker engine (none runs here; they
are not built in CI either): the compose file parses and names the API, PostgreSQL and an
EVM node; every ``CARBON_LEDGER_*`` variable it sets is one the ledger reads, and reads into
the setting meant; the image installs with the constraints, runs as a non-root user and
starts a real ``carbon-ledger`` command."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from api.settings import ApiSettings
from ledger.cli import build_parser, cmd_serve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined), as (keyword, rest)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def test_compose_names_the_api_postgresql_and_an_evm_node(compose: dict):
    services = compose["services"]
    assert set(services) == {"api", "postgres", "anvil"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["anvil"]["image"].startswith("ghcr.io/foundry-rs/foundry")
    assert services["anvil"]["entrypoint"][0] == "anvil"
    assert services["api"]["build"] == "."
    assert set(services["api"]["depends_on"]) == {"postgres", "anvil"}


def test_every_variable_compose_sets_is_read_into_the_setting_meant(
        compose: dict, monkeypatch: pytest.MonkeyPatch):
    environment = compose["services"]["api"]["environment"]
    # ${NAME:-default} as compose substitutes it with NAME unset
    values = {name: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
              for name, value in environment.items()}
    for name in list(os.environ):
        if name.startswith("CARBON_LEDGER_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = ApiSettings.from_env()
    ledger = settings.ledger
    read = {
        "CARBON_LEDGER_DATABASE_URL": ledger.database_url,
        "CARBON_LEDGER_DATABASE_SCHEMA": ledger.database_schema,
        "CARBON_LEDGER_RPC_URL": ledger.rpc_url,
        "CARBON_LEDGER_CHAIN_KEY": ledger.chain_key,
        "CARBON_LEDGER_DATA_DIR": str(ledger.data_dir),
    }
    assert set(values) <= set(read), set(values) - set(read)
    assert {"CARBON_LEDGER_DATABASE_URL", "CARBON_LEDGER_RPC_URL",
            "CARBON_LEDGER_CHAIN_KEY"} <= set(values)
    for name, value in values.items():
        assert read[name] == value, name
    assert ledger.is_postgres
    services = compose["services"]
    assert urlsplit(ledger.database_url).hostname == "postgres"
    assert urlsplit(ledger.database_url).path == (
        "/" + services["postgres"]["environment"]["POSTGRES_DB"])
    rpc = urlsplit(ledger.rpc_url)
    anvil = services["anvil"]["entrypoint"]
    assert (rpc.hostname, str(rpc.port)) == ("anvil", anvil[anvil.index("--port") + 1])
    assert re.fullmatch(r"0x[0-9a-f]{64}", ledger.chain_key)
    # the data directory is the image's, and a volume
    assert f":{ledger.data_dir}" in " ".join(services["api"]["volumes"])


def test_the_variables_named_are_ones_runtime_or_settings_read(compose: dict):
    sources = "".join((ROOT / path).read_text() for path in (
        "ledger/runtime.py", "api/settings.py"))
    for name in compose["services"]["api"]["environment"]:
        assert f'"{name}"' in sources, name


def test_the_dockerfile_installs_with_the_constraints_as_a_non_root_user():
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    installs = [rest for kind, rest in instructions if kind == "RUN" and "pip install" in rest]
    assert installs and all("-c constraints.txt" in rest for rest in installs)
    copied = [rest.split() for kind, rest in instructions if kind == "COPY"]
    assert any("constraints.txt" in parts for parts in copied)
    for parts in copied:
        for source in parts[:-1]:
            assert (ROOT / source).exists(), source
    users = [rest for kind, rest in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = packages["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in included:  # every package the wheel holds is in the image
        assert any(parts[0] == pattern.rstrip("*") for parts in copied), pattern


@pytest.mark.parametrize("source", ["Dockerfile", "compose"])
def test_the_command_run_is_a_real_cli_command(source: str, compose: dict):
    if source == "Dockerfile":
        (cmd,) = [rest for kind, rest in dockerfile() if kind == "CMD"]
        argv = json.loads(cmd)  # the exec form: no shell between
    else:
        argv = compose["services"]["api"]["command"]
    assert argv[0] == "carbon-ledger"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["carbon-ledger"] == "ledger.cli:main"
    args = build_parser().parse_args(argv[1:])
    assert args.handler is cmd_serve
    assert args.host == "0.0.0.0"
    assert str(args.port) in " ".join(compose["services"]["api"]["ports"])

"""One registry per ledger, shared by every host (anchoring.registry), on a real JSON-RPC node
(anvil) and one PostgreSQL database, with each host in a data directory of its own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from anchoring.audit import audit_ledger
from anchoring.chain import JsonRpcChain
from anchoring.registry import RegistryMismatchError
from anchoring.service import Anchorer
from ledger.cli import main
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, add_events
from tests.conftest import database_url_for_tests


@pytest.fixture
def host_settings(postgres_schema: str, anvil_url: str, tmp_path: Path):
    """Settings of host ``name``: the shared database and chain, its own data directory."""

    def make(name: str, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / name, "database_url": database_url_for_tests(),
            "database_schema": postgres_schema, "rpc_url": anvil_url,
            "chain_key": ANVIL_PRIVATE_KEY, "confirmations": 0}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


def test_hosts_with_different_data_dirs_anchor_to_one_registry(host_settings):
    with LedgerRuntime(host_settings("a")) as a:
        add_events(a.ledger, 5, "a")
        assert a.anchoring.anchor_now().state == "anchored"
        registry = a.anchoring.chain.contract_address
    # The lease moves to another host, with an empty data directory of its own.
    with LedgerRuntime(host_settings("b")) as b:
        assert b.anchoring.chain.contract_address == registry  # not a second deployment
        add_events(b.ledger, 3, "b")
        assert b.anchoring.anchor_now().state == "anchored"
        assert b.anchoring.chain.checkpoint_count() == 2
    # Each host's audit sees both hosts' anchors, read from the chain.
    for name in ("a", "b"):
        report = audit_ledger(host_settings(name))
        assert report.ok, report.problems
        assert report.checkpoints_checked == 2
        assert report.anchors_checked == 2


def test_hosts_starting_at_once_deploy_one_registry(host_settings):
    addresses: list[str] = []
    errors: list[BaseException] = []

    def start(name: str) -> None:
        try:
            with LedgerRuntime(host_settings(name)) as runtime:
                addresses.append(runtime.anchoring.chain.contract_address)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(f"h{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(addresses)) == 1


def test_a_host_configured_with_another_registry_is_refused(host_settings, anvil_url,
                                                            monkeypatch, capsys):
    with LedgerRuntime(host_settings("a")) as a:
        add_events(a.ledger, 2)
        a.anchoring.anchor_now()
        registry = a.anchoring.chain.contract_address
    other = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY).contract_address
    with LedgerRuntime(host_settings("b", anchor_contract=other)) as b, \
            pytest.raises(RegistryMismatchError, match=registry):
        _ = b.anchoring
    # A data directory remembering another registry (as earlier versions wrote it) too.
    (Path(host_settings("c").data_dir)).mkdir()
    (host_settings("c").data_dir / "anchor-contract.txt").write_text(other + "\n")
    settings = host_settings("c")
    for key, value in {"CARBON_LEDGER_DATABASE_URL": settings.database_url,
                       "CARBON_LEDGER_DATABASE_SCHEMA": settings.database_schema,
                       "CARBON_LEDGER_RPC_URL": settings.rpc_url,
                       "CARBON_LEDGER_CHAIN_KEY": settings.chain_key}.items():
        monkeypatch.setenv(key, str(value))
    assert main(["--data-dir", str(settings.data_dir), "anchor"]) == 2
    assert "registry-mismatch" in capsys.readouterr().err
    # The configured registry itself is accepted.
    with LedgerRuntime(host_settings("d", anchor_contract=registry)) as d:
        assert d.anchoring.chain.contract_address == registry


def test_a_ledger_anchored_before_registries_were_recorded_adopts_its_registry(
        host_settings, postgres_schema):
    """Existing ledgers: anchors recorded, no registry recorded: the anchors' one is kept."""
    import psycopg

    with LedgerRuntime(host_settings("a")) as a:
        add_events(a.ledger, 2)
        a.anchoring.anchor_now()
        registry = a.anchoring.chain.contract_address
    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{postgres_schema}".anchor_registry')
    with LedgerRuntime(host_settings("b")) as b:
        assert b.anchoring.chain.contract_address == registry


def test_audit_reports_anchors_recorded_for_another_registry(host_settings, anvil_url):
    """Before this fix a second host anchored to a registry of its own: its anchors are
    reported, not ignored."""
    with LedgerRuntime(host_settings("a")) as a:
        add_events(a.ledger, 2)
        a.anchoring.anchor_now()
        stray = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY)
        add_events(a.ledger, 2)
        Anchorer(a.anchoring.merkle_log, stray, a.anchoring.engine, every_events=1,
                 confirmations=0, create_tables=False).tick()
    report = audit_ledger(host_settings("a"))
    assert not report.tampering
    assert any(stray.contract_address in p and "not the ledger's registry" in p
               for p in report.anchoring)

"""``carbon-ledger tokens ...`` on a real JSON-RPC node (anvil): deploy, lock, mint, sync,
redeem and retire from the command line, each refusal one line and a non-zero exit."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from web3.types import Wei

from anchoring.chain import JsonRpcChain
from anchoring.token_commands import HOLDER_KEY_ENV
from anchoring.tokens import ACTOR_ENV, CONFIRMATIONS_ENV, TOKEN_ENV
from ledger import cli
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY
from tests.ledger.projections.scenario import issue_batch, make_cast


def run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["--data-dir", str(data), "tokens", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_tokens_from_the_command_line(anvil_url: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]):
    for name in ("CARBON_LEDGER_ANCHOR_CONTRACT", "CARBON_LEDGER_DATABASE_URL", TOKEN_ENV,
                 ACTOR_ENV, HOLDER_KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARBON_LEDGER_RPC_URL", anvil_url)
    monkeypatch.setenv("CARBON_LEDGER_CHAIN_KEY", ANVIL_PRIVATE_KEY)
    monkeypatch.setenv("CARBON_LEDGER_CONFIRMATIONS", "0")
    monkeypatch.setenv(CONFIRMATIONS_ENV, "0")
    data = tmp_path / "ledger"
    with LedgerRuntime(Settings.from_env(data)) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=40)
        actor = ledger.register_participant(kind="registry_operator", name="Token bridge",
                                            registered_by=cast.operator, roles=["bridge"])
        issued = runtime.ledger.batch(batch).quantity
    # Not configured yet: one line.
    code, _, err = run(capsys, data, "sync")
    assert code == 2 and "tokens-not-configured" in err and len(err.splitlines()) == 1
    code, out, _ = run(capsys, data, "deploy", "--actor", str(actor))
    assert code == 0, out
    address = re.search(r"deployed at (0x[0-9a-fA-F]{40})", out).group(1)  # type: ignore[union-attr]
    monkeypatch.setenv(TOKEN_ENV, address)
    monkeypatch.setenv(ACTOR_ENV, str(actor))

    chain = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY,
                         (data / "anchor-contract.txt").read_text().strip())
    holder_key = "0x" + secrets.token_hex(32)
    w3 = chain.w3
    holder = w3.eth.account.from_key(holder_key).address
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": holder, "value": Wei(10**19)}))

    # Someone else's credits, a bad address: refused, nothing written.
    code, _, err = run(capsys, data, "lock", "--holder", str(cast.holders[0]), "--batch",
                       str(batch), "--quantity", "1 kg", "--recipient", holder)
    assert code == 2 and "insufficient-balance" in err
    code, _, err = run(capsys, data, "lock", "--holder", str(cast.platform), "--batch",
                       str(batch), "--quantity", "1 kg", "--recipient", "0x1234")
    assert code == 2 and "validation-error" in err

    quantity = issued // 2
    code, out, err = run(capsys, data, "lock", "--holder", str(cast.platform), "--batch",
                         str(batch), "--quantity", f"{quantity} g", "--recipient", holder)
    assert code == 0, err
    lock_id = re.search(r"lock ([0-9a-f-]{36})", out).group(1)  # type: ignore[union-attr]
    code, out, err = run(capsys, data, "mint", lock_id)
    assert code == 0, err
    assert f"minted {quantity:,} g" in out
    code, _, err = run(capsys, data, "mint", lock_id)
    assert code == 2 and "CarbonCreditTokenLockAlreadyMinted" in err
    code, _, err = run(capsys, data, "mint", "00000000-0000-0000-0000-000000000001")
    assert code == 2 and "unknown-record" in err
    code, out, _ = run(capsys, data, "sync")
    assert code == 0 and "minted 1" in out
    code, out, _ = run(capsys, data, "status", lock_id)
    assert code == 0 and "minted in 0x" in out

    # Burns are the token holder's own transactions, with its key.
    code, _, err = run(capsys, data, "redeem", "--batch", str(batch), "--quantity", "1 kg",
                       "--account", str(cast.holders[0]))
    assert code == 2 and HOLDER_KEY_ENV in err
    monkeypatch.setenv(HOLDER_KEY_ENV, holder_key)
    code, out, err = run(capsys, data, "redeem", "--batch", str(batch), "--quantity", "1 kg",
                         "--account", str(cast.holders[0]))
    assert code == 0, err
    code, out, err = run(capsys, data, "retire", "--batch", str(batch), "--quantity", "2 kg",
                         "--beneficiary", "Shu's Group", "--purpose", "voluntary",
                         "--jurisdiction", "CN-42", "--period", "2024")
    assert code == 0, err
    code, out, _ = run(capsys, data, "sync")
    assert code == 0 and "redeemed 1, retired 1" in out
    code, out, _ = run(capsys, data, "conservation", "--batch", str(batch))
    assert code == 0 and "balanced" in out and f"on chain {quantity - 3000:,}" in out
    with LedgerRuntime(Settings.from_env(data)) as runtime:
        runtime.sync()
        assert runtime.views.balance(cast.holders[0], batch)["available"] == 1000

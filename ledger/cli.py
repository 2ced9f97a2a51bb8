"""``carbon-ledger``: run the demo, inspect, check and rebuild a ledger.

Every subcommand works on a data directory (``--data-dir``, or ``CARBON_LEDGER_DATA_DIR``;
default ``./data``). Errors print one readable line to stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from anchoring.token_commands import add_token_commands
from ledger.domain.credit_batch import LotState
from ledger.domain.errors import LedgerError
from ledger.domain.ids import individual_account_id
from ledger.domain.quantities import format_grams
from ledger.gc_tuning import tune_gc
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime, Settings

__all__ = ["main"]

EXIT_ERROR = 2
STATES = tuple(state.value for state in LotState)  # the grams columns, in order


def _grams_columns(row: dict[str, Any], states: Sequence[str] = STATES) -> str:
    return ", ".join(f"{s} {format_grams(int(row[s]))}" for s in states if int(row[s]))


def cmd_demo(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir or "data/demo")
    settings = Settings.from_env(data_dir)
    if settings.rpc_url and not settings.chain_key:  # before writing anything
        raise LedgerError(f"anchoring the demo on {settings.rpc_url} needs the anchorer's key "
                          "(CARBON_LEDGER_CHAIN_KEY)")
    if settings.is_postgres:
        with LedgerRuntime(settings) as runtime:
            if runtime.ledger.recorder.max_notification_id():
                raise LedgerError(
                    f"the demo needs an empty ledger, but schema {settings.database_schema} of "
                    f"{settings.database_url} holds events; use another "
                    "CARBON_LEDGER_DATABASE_SCHEMA")
            _run_demo(runtime, args.people)
        return
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / "events.sqlite").exists():
            raise LedgerError(f"{data_dir} is not empty and holds no ledger; choose another "
                              "--data-dir")
        shutil.rmtree(data_dir)  # the demo always starts from an empty ledger
    # From the environment: CARBON_LEDGER_RPC_URL (and _CHAIN_KEY, _CONFIRMATIONS) anchor the
    # demo on that JSON-RPC node instead of the embedded chain.
    with LedgerRuntime(settings) as runtime:
        _run_demo(runtime, args.people)


def _run_demo(runtime: LedgerRuntime, people: int) -> None:
    from anchoring.chain import ChainError
    from ledger import demo

    try:
        runtime.anchoring  # noqa: B018 - opens the chain: an unreachable node fails here, first
        demo.run_demo(runtime, people=people)
    except ChainError as error:
        where = runtime.settings.rpc_url or "the embedded chain"
        raise LedgerError(f"anchoring the demo on {where} failed: {error}") from None


def _open(args: argparse.Namespace, *, stuck_ok: bool = False) -> LedgerRuntime:
    """The ledger, its read models brought up to date; if they are stuck before an event
    they cannot apply, a :class:`ProjectionStuckError` unless ``stuck_ok`` (then they are
    left where they stopped, and ``projection_failure`` names the event)."""
    settings = Settings.from_env(args.data_dir)
    if not settings.is_postgres and not settings.events_path.exists():
        raise LedgerError(f"no ledger in {settings.data_dir} (run 'carbon-ledger demo' or "
                          "pass --data-dir)")
    runtime = LedgerRuntime(settings)
    try:
        runtime.sync()
    except ProjectionStuckError:
        if not stuck_ok:
            runtime.close()
            raise
    except BaseException:
        runtime.close()
        raise
    return runtime


def cmd_status(args: argparse.Namespace) -> None:
    with _open(args, stuck_ok=True) as rt:
        views = rt.views
        print(f"data directory     {rt.settings.data_dir}")
        print(f"events recorded    {rt.ledger.recorder.max_notification_id() or 0:,}")
        print(f"projected up to    {rt.projector.position():,}")
        failure = rt.projection_failure
        if failure is not None:
            print(f"PROJECTION STUCK   at event {failure.position:,}: the read models cannot "
                  "apply it")
            print(f"  event topic      {failure.topic}")
            print(f"  originator       {failure.originator_id} "
                  f"version {failure.originator_version}")
            print(f"  error            {failure.error}")
        print(f"participants       {len(views.participants()):,}")
        print(f"behaviours         {views.behaviour_count():,}")
        print(f"batches            {len(views.batches()):,}")
        print(f"retirements        {len(views.retirements()):,}")
        if failure is not None:  # a non-zero exit, for monitoring
            raise ProjectionStuckError(failure)


def cmd_batches(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        for row in rt.views.supply():
            batch = rt.views.batch(row["batch"]) or {}
            print(f"{row['block']:<26} {batch.get('methodology_label', ''):<28} "
                  f"{batch.get('region', ''):<10} issued {format_grams(int(row['issued']))}: "
                  f"{_grams_columns(row)}")


def cmd_balances(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        for row in rt.views.balances(account=args.account):
            columns = _grams_columns(row)
            if columns:
                print(f"{row['name'] or row['account']:<42} {row['block']:<26} {columns}")


def cmd_serial(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        found = rt.views.who_holds(args.block, args.serial)
        if found is None:
            raise LedgerError(f"serial {args.serial} of {args.block} does not exist")
        holder = rt.views.participant(found["holder"]) or {"name": found["holder"]}
        print(f"{args.block} serial {args.serial}: {found['state']}, held by {holder['name']} "
              f"(range {found['start']}-{found['end'] - 1})")
        retirement = found.get("retirement")
        if retirement:
            print(f"retired {retirement['retired_at']} for {retirement['beneficiary']} "
                  f"({retirement['purpose']}), retirement {retirement['id']}")


def cmd_pledges(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        for row in rt.views.pledges(bank=args.bank):
            print(f"{row['id']}  {row['status']:<9} {format_grams(int(row['quantity'])):>12}  "
                  f"loan {row['loan_reference']}  holder {row['holder']}  bank {row['bank']}")


def cmd_retirements(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        for row in rt.views.retirements(purpose=args.purpose):
            print(f"{row['id']}  {format_grams(int(row['quantity'])):>12}  "
                  f"{row['purpose']:<22} {row['beneficiary']}  {row['block']}  "
                  f"serials {row['ranges'][0][0]}-{row['ranges'][-1][1] - 1}")


def cmd_claims(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        for row in rt.views.claims():
            print(f"{row['event_name']:<36} footprint {format_grams(int(row['footprint_g']))}, "
                  f"retired {format_grams(int(row['retired_g']))}, met={bool(row['met'])}")


def cmd_account(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        account = rt.views.carbon_account(individual_account_id(args.pseudonym))
        print(f"account {account['account']}: earned {account['earned']:,}, redeemed "
              f"{account['redeemed']:,}, donated {account['donated']:,}, balance "
              f"{account['balance']:,} points")
        for entry in account["entries"][-args.limit:]:
            print(f"  {entry['at']}  {entry['kind']:<8} {entry['points']:>+10,}  "
                  f"{entry['reference']}")


def cmd_sync(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        print(f"read models at position {rt.projector.position():,}; lag {rt.projector.lag()}")


def cmd_rebuild(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        count = rt.projector.rebuild()
        print(f"read models rebuilt from {count:,} events")


def cmd_check(args: argparse.Namespace) -> None:
    from ledger.checks import check_ledger

    with _open(args) as rt:
        report = check_ledger(rt)
        for problem in report.problems:
            print(f"PROBLEM {problem}")
        if not report.ok:
            raise LedgerError(f"{len(report.problems)} problems in {report.batches} batches")
        print(f"OK: supply and serial invariants hold and read models match for "
              f"{report.batches} batches")


def cmd_backup(args: argparse.Namespace) -> None:
    from ledger.backup import backup_data_dir

    settings = Settings.from_env(args.data_dir)
    report = backup_data_dir(settings.data_dir, Path(args.to), postgres=settings.is_postgres)
    events = f", {report.events:,} events" if report.events is not None else ""
    print(f"backed up {len(report.files)} files ({report.databases} databases{events}) of "
          f"{settings.data_dir} to {report.directory}")
    if settings.is_postgres:
        print(f"the ledger's database is schema {settings.database_schema} of PostgreSQL: "
              "dump it with pg_dump (docs/OPERATIONS.md)")


def cmd_restore(args: argparse.Namespace) -> None:
    from ledger.backup import restore_data_dir

    settings = Settings.from_env(args.data_dir)
    report = restore_data_dir(Path(getattr(args, "from")), settings.data_dir, force=args.force)
    events = f", {report.events:,} events" if report.events is not None else ""
    print(f"restored {len(report.files)} files ({report.databases} databases{events}) to "
          f"{settings.data_dir}; now run 'carbon-ledger check' and 'carbon-ledger audit'")


def cmd_index_legacy_acts(args: argparse.Namespace) -> None:
    with _open(args) as rt:
        read, recorded = rt.ledger.index_legacy_acts()
        print(f"{read:,} behaviours read; {recorded:,} acts stored under their exact-text id "
              "now also keyed by their normal id")


def cmd_import_behaviours(args: argparse.Namespace) -> None:
    from uuid import UUID

    from ledger.bulk_import import import_behaviours
    from ledger.domain.errors import ValidationError

    settings = Settings.from_env(args.data_dir)
    if not settings.is_postgres and not settings.events_path.exists():
        raise LedgerError(f"no ledger in {settings.data_dir} (pass --data-dir)")
    try:
        platform = UUID(args.platform)
    except ValueError:
        raise ValidationError(f"--platform is not a participant id: {args.platform!r}",
                              field="platform") from None
    source = Path(args.file)
    results = Path(args.results) if args.results else source.with_suffix(".results.jsonl")
    summary = import_behaviours(settings.event_store_env(), platform, source, results,
                                processes=args.processes)
    print(f"{summary.lines:,} lines: {summary.accepted:,} accepted, {summary.rejected:,} "
          f"rejected, in {summary.seconds:.1f} s ({summary.per_second:,.0f}/s); "
          f"results in {results}")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api import ApiSettings, create_app
    from api.json_logs import log_format, logging_config

    # Structured logs (one JSON object per line) unless --log-format/CARBON_LEDGER_LOG_FORMAT
    # says text; the app writes the access log itself (with the request id), not uvicorn.
    fmt = args.log_format or log_format("json")
    logs = {"log_config": logging_config(fmt, args.log_level), "log_level": args.log_level,
            "access_log": False}
    if args.workers > 1:
        # Each worker process builds its app from the environment; together they are one
        # ledger (one database), and one of them at a time holds the anchorer lease.
        if args.data_dir:
            os.environ["CARBON_LEDGER_DATA_DIR"] = str(args.data_dir)
        if args.signature_window is not None:
            os.environ["CARBON_LEDGER_SIGNATURE_WINDOW_S"] = str(args.signature_window)
        if args.no_anchoring:
            os.environ["CARBON_LEDGER_API_ANCHORING"] = "0"
        os.environ["CARBON_LEDGER_LOG_FORMAT"] = fmt
        uvicorn.run("api.app:create_app_from_env", factory=True, workers=args.workers,
                    host=args.host, port=args.port, **logs)  # type: ignore[arg-type]
        return
    settings = ApiSettings.from_env(args.data_dir, args.signature_window,
                                    anchoring=False if args.no_anchoring else None)
    uvicorn.run(create_app(settings), host=args.host, port=args.port,
                **logs)  # type: ignore[arg-type]


def cmd_anchor(args: argparse.Namespace) -> None:
    if args.follow:
        _follow_anchoring(args)
        return
    with _open(args) as rt:
        status = rt.anchoring.anchor_now()
        anchoring = rt.anchoring
        if status.state == "chain-unavailable":
            raise LedgerError(f"chain unavailable, nothing anchored: {status.error}")
        latest = anchoring.anchorer.latest_anchor()
        if latest is None:
            print("nothing to anchor yet")
            return
        print(f"{status.state}: tree of {latest.tree_size:,} events, root {latest.root.hex()}")
        print(f"registry {latest.contract_address} on chain {latest.chain_id}, tx "
              f"{latest.tx_hash} (block {latest.block_number}), final={latest.final}")


def _follow_anchoring(args: argparse.Namespace) -> None:
    """Anchor every N events or T seconds (settings) until interrupted."""
    import logging
    import threading

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stop = threading.Event()
    with _open(args) as rt:
        anchorer = rt.anchoring.anchorer
        print(f"anchoring every {anchorer.every_events} events or {anchorer.every_seconds:g} s "
              f"on {rt.anchoring.chain!r}; Ctrl-C to stop", flush=True)
        try:
            anchorer.run(stop, interval=args.interval)
        except KeyboardInterrupt:
            stop.set()


def cmd_certificate(args: argparse.Namespace) -> None:
    from anchoring.certificate import (
        CertificateError,
        build_behaviour_certificate,
        build_pledge_certificate,
        build_retirement_certificate,
    )
    from anchoring.neutrality import build_neutrality_certificate

    builders = {"retirement": build_retirement_certificate, "pledge": build_pledge_certificate,
                "behaviour": build_behaviour_certificate,
                "claim": build_neutrality_certificate}
    with _open(args) as rt:
        anchoring = rt.anchoring
        anchoring.anchor_now()
        try:
            cert = builders[args.kind](rt, anchoring.merkle_log, anchoring.anchorer, args.id)
        except CertificateError as error:
            raise LedgerError(str(error)) from None
        text = json.dumps(cert, indent=2, ensure_ascii=False) + "\n"
        if args.pdf:
            _write_certificate_pdf(args, text.encode())
            return
        if args.output:
            Path(args.output).write_text(text)
            print(f"{args.kind} certificate written to {args.output}")
        else:
            print(text, end="")


def _write_certificate_pdf(args: argparse.Namespace, document: bytes) -> None:
    """``certificate retirement ID --pdf -o FILE``: the bilingual PDF, its QR code opening
    the certificate's page under --public-url (or CARBON_LEDGER_PUBLIC_BASE_URL)."""
    from api.certificate_pdf import (
        certificate_page_url,
        claim_page_url,
        neutrality_pdf,
        public_base_url,
        retirement_pdf,
    )

    renderers = {"retirement": (retirement_pdf, certificate_page_url),
                 "claim": (neutrality_pdf, claim_page_url)}
    if args.kind not in renderers:
        raise LedgerError(f"--pdf is for retirement and claim certificates, not {args.kind}")
    render, page_url = renderers[args.kind]
    if not args.output:
        raise LedgerError("--pdf needs -o FILE (a PDF is not written to a terminal)")
    base = args.public_url or os.environ.get("CARBON_LEDGER_PUBLIC_BASE_URL")
    if not base:
        raise LedgerError("--pdf needs --public-url URL (or CARBON_LEDGER_PUBLIC_BASE_URL): "
                          "the public address of the explorer the QR code opens")
    try:
        url = page_url(public_base_url(base), args.id)
    except ValueError as error:
        raise LedgerError(str(error)) from None
    Path(args.output).write_bytes(render(document, url))
    print(f"{args.kind} certificate (PDF) written to {args.output}")


def _certificate_json(path: Path) -> bytes:
    """A certificate's JSON: the file itself, or the certificate embedded in a PDF."""
    data = path.read_bytes()
    if data.startswith(b"%PDF-"):
        from api.certificate_pdf import embedded_certificate

        return embedded_certificate(data)
    return data


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0: verified against the trusted registry on chain; 1: refused (a check failed);
    2: the certificate or the trust anchors cannot be read; 3: not verified against a chain
    (no trust anchors or chain given, the chain unreachable, or the anchor not yet final)."""
    from anchoring.certificate import Verdict, render_certificate, verify_certificate

    try:
        cert = json.loads(_certificate_json(Path(args.certificate)))
    except (OSError, ValueError) as error:
        raise LedgerError(f"cannot read certificate {args.certificate}: {error}") from None
    trust = _trust_anchors(args)
    chain = _verification_chain(args, trust)
    if isinstance(cert, dict) and cert.get("kind") == "neutrality":
        from anchoring.neutrality import verify_neutrality_certificate

        verification = verify_neutrality_certificate(cert, chain, trust)
    else:
        verification = verify_certificate(cert, chain, trust)
    if isinstance(cert, dict) and "record" in cert and "anchor" in cert:
        print(render_certificate(cert, verification))
    else:
        for check in verification.checks:
            print(f"[{check.label}] {check.name}: {check.detail}")
        if isinstance(cert, dict) and cert.get("kind") == "neutrality":
            print(f"RESULT: {verification.verdict.value.upper()}")
    if verification.verdict is Verdict.REFUSED:
        print("carbon-ledger: error [certificate-refused]: certificate verification failed: "
              f"{', '.join(verification.failed)}", file=sys.stderr)
    elif verification.verdict is Verdict.NOT_VERIFIED:
        print("carbon-ledger: certificate not verified against a chain: "
              f"{', '.join(verification.undecided)} (give --trust FILE, or --registry, "
              "--chain-id and --anchorer, and --rpc-url)", file=sys.stderr)
    return verification.exit_code


def _trust_anchors(args: argparse.Namespace) -> Any:
    """The trust anchors the verifier chose: --trust FILE, overridden by the flags."""
    from anchoring.trust import TRUST_ANCHORS_FORMAT, TrustAnchors

    document: dict[str, Any] = {}
    if args.trust:
        try:
            document = json.loads(Path(args.trust).read_text())
        except (OSError, ValueError) as error:
            raise LedgerError(f"cannot read trust anchors {args.trust}: {error}") from None
        TrustAnchors.from_document(document)  # a malformed file is an error of its own
    flags = {"registry": args.registry, "chain_id": args.chain_id,
             "anchorers": args.anchorer or None, "confirmations": args.confirmations}
    if not document and all(value is None for value in flags.values()):
        return None
    merged = {"format": TRUST_ANCHORS_FORMAT, **document,
              **{k: v for k, v in flags.items() if v is not None}}
    return TrustAnchors.from_document(merged)


def _verification_chain(args: argparse.Namespace, trust: Any) -> object:
    """The chain holding the trusted registry: --rpc-url, or the embedded chain of
    --data-dir if its registry is the trusted one. ``None`` without trust anchors."""
    from anchoring.chain import ChainError, JsonRpcChain
    from anchoring.embedded import EmbeddedChain

    if trust is None:
        return None
    if args.rpc_url:
        try:  # a throwaway key: verifying only reads
            return JsonRpcChain(args.rpc_url, "0x" + secrets.token_hex(32),
                                contract_address=trust.registry)
        except ChainError as error:
            print(f"carbon-ledger: cannot reach {args.rpc_url}: {error}", file=sys.stderr)
            return None
    settings = Settings.from_env(args.data_dir)
    chain_dir = settings.data_dir / "chain"
    if (chain_dir / "chain-key").exists():
        embedded = EmbeddedChain(chain_dir)
        if embedded.contract_address.lower() == trust.registry.lower():
            return embedded
    return None


def cmd_trust_anchors(args: argparse.Namespace) -> None:
    from anchoring.trust import trust_anchors_of

    with _open(args) as rt:
        text = json.dumps(trust_anchors_of(rt.anchoring).to_document(), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"trust anchors written to {args.output}")
    else:
        print(text, end="")


def cmd_audit(args: argparse.Namespace) -> None:
    from anchoring.audit import audit_ledger

    settings = Settings.from_env(args.data_dir)
    if not settings.is_postgres and not settings.events_path.exists():
        raise LedgerError(f"no ledger in {settings.data_dir} (pass --data-dir)")
    report = audit_ledger(settings)  # reads only: no sync, no table, no deployment
    for line in report.lines:
        print(line)
    for problem in report.tampering:
        print(f"TAMPERING {problem}")
    for problem in report.anchoring:
        print(f"ANCHOR {problem}")
    if not report.ok:
        raise LedgerError(f"audit failed: {len(report.tampering)} tampering, "
                          f"{len(report.anchoring)} anchoring problems")
    print(f"OK: {report.events:,} stored events match the Merkle log and every anchored root")


def cmd_monitor(args: argparse.Namespace) -> None:
    from anchoring.monitor import run_monitor

    run_monitor(args.url, rpc_url=args.rpc_url, registry=args.registry, chain_id=args.chain_id,
                state_path=Path(args.state) if args.state else None, log_key=args.log_key,
                once=args.once, interval=args.interval)


def cmd_bench(args: argparse.Namespace) -> None:
    from benchmarks.run import run

    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    output = Path(args.output) if args.output else None
    if output is None and args.scale:
        output = Path("docs/BENCHMARKS-SCALE.md")
    elif output is None and not args.quick:
        output = Path("docs/BENCHMARKS.md")
    run(quick=args.quick, backends=backends, output=output, database_url=args.database_url,
        scale=args.scale)


def _positive_count(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 10_000:
        raise argparse.ArgumentTypeError(f"at least 10,000 behaviours, got {value:,}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carbon-ledger", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="ledger data directory (default ./data, or "
                        "CARBON_LEDGER_DATA_DIR; the demo uses ./data/demo)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace], int | None],
            help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.set_defaults(handler=handler)
        return command

    demo = add("demo", cmd_demo, "replay the real carbon-inclusion cases on a fresh ledger")
    demo.add_argument("--people", type=int, default=20_000,
                      help="number of people behind the generated behaviours")
    add("status", cmd_status, "counts and projection position")
    imports = add("import-behaviours", cmd_import_behaviours,
                  "import a platform's behaviour reports from a JSON-lines file")
    imports.add_argument("file", help="one JSON object per line: person, methodology_code, "
                         "methodology_version, act_identity, activity_amount, occurred_at, "
                         "platform_ref")
    imports.add_argument("--platform", required=True, help="the reporting platform's id")
    imports.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                         help="importing processes (default: one per CPU)")
    imports.add_argument("--results", help="where to write one result per line (default: "
                         "FILE with .results.jsonl)")
    add("batches", cmd_batches, "credit batches and their supply by state")
    balances = add("balances", cmd_balances, "balances per account and batch")
    balances.add_argument("--account", help="only this account id")
    serial = add("serial", cmd_serial, "who holds a serial number, or who retired it")
    serial.add_argument("block", help="batch block, e.g. HBCER-2024-000001")
    serial.add_argument("serial", type=int)
    pledges = add("pledges", cmd_pledges, "the pledge register")
    pledges.add_argument("--bank", help="only pledges to this bank id")
    retirements = add("retirements", cmd_retirements, "the public retirement register")
    retirements.add_argument("--purpose")
    add("claims", cmd_claims, "neutrality claims")
    account = add("account", cmd_account, "a person's carbon account statement")
    account.add_argument("pseudonym")
    account.add_argument("--limit", type=int, default=20)
    add("index-legacy-acts", cmd_index_legacy_acts, "key behaviours stored before act "
        "identities were normalised by their normal id (run once after upgrading)")
    add("sync", cmd_sync, "bring the read models up to date")
    add("rebuild", cmd_rebuild, "drop the read models and rebuild them from the event log")
    add("check", cmd_check, "check supply invariants and read models against the aggregates")
    backup = add("backup", cmd_backup, "copy the data directory online (SQLite backup API; "
                 "keys, chain journal and registry records with their modes)")
    backup.add_argument("--to", required=True, metavar="DIR", help="an empty or new directory")
    restore = add("restore", cmd_restore, "restore a backup into the data directory")
    restore.add_argument("--from", required=True, metavar="DIR", help="a directory written "
                         "by 'carbon-ledger backup'")
    restore.add_argument("--force", action="store_true", help="replace the ledger already in "
                         "the data directory (refused otherwise)")
    anchor = add("anchor", cmd_anchor, "anchor the Merkle root of the event log on chain now")
    anchor.add_argument("--follow", action="store_true", help="keep anchoring every N events "
                        "or T seconds (CARBON_LEDGER_ANCHOR_EVERY_EVENTS/_SECONDS)")
    anchor.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    certificate = add("certificate", cmd_certificate,
                      "build a verifiable certificate (JSON) for a record")
    certificate.add_argument("kind", choices=["retirement", "pledge", "behaviour", "claim"])
    certificate.add_argument("id", help="retirement, pledge, behaviour or neutrality claim id")
    certificate.add_argument("-o", "--output", help="write to this file")
    certificate.add_argument("--pdf", action="store_true",
                             help="write the bilingual PDF (retirements, claims; needs -o), "
                                  "with the JSON certificate embedded")
    certificate.add_argument("--public-url", metavar="URL",
                             help="the explorer's public base URL for the PDF's QR code "
                                  "(default: CARBON_LEDGER_PUBLIC_BASE_URL)")
    verify = add("verify", cmd_verify, "verify a certificate against a registry you trust: "
                 "exit 0 verified, 1 refused, 2 unreadable input, 3 not verified against a "
                 "chain")
    verify.epilog = ("exit status: 0 verified against the trusted registry on chain; 1 refused "
                     "(a check failed: forged, altered, anchored elsewhere or by an untrusted "
                     "account); 2 the certificate or trust anchors cannot be read; 3 not "
                     "verified against a chain (no trust anchors or chain, the chain "
                     "unreachable, or the anchor not final yet)")
    verify.add_argument("certificate", help="certificate JSON file, or a certificate PDF "
                        "(its embedded certificate.json is verified)")
    verify.add_argument("--trust", metavar="FILE", help="trust anchors (JSON, as written by "
                        "`carbon-ledger trust-anchors` or GET /trust-anchors): the chain id, "
                        "registry and anchorer accounts you trust")
    verify.add_argument("--registry", help="the trusted AnchorRegistry address")
    verify.add_argument("--chain-id", type=int, help="the trusted chain's id")
    verify.add_argument("--anchorer", action="append", help="a trusted anchorer account "
                        "(repeatable)")
    verify.add_argument("--confirmations", type=int, metavar="K", help="blocks required on "
                        "top of the anchor (default: the trust file's, else 2)")
    verify.add_argument("--rpc-url", help="read the chain from this JSON-RPC node (default: "
                        "the embedded chain of --data-dir, if it holds the trusted registry)")
    trust = add("trust-anchors", cmd_trust_anchors, "print the trust anchors verifiers of "
                "this ledger's certificates need (chain id, registry, anchorers, K)")
    trust.add_argument("-o", "--output", help="write to this file")
    tokens = sub.add_parser("tokens", help="the token bridge: deploy, lock, mint, sync, redeem, "
                            "retire (see docs/TOKENISATION.md)")
    add_token_commands(tokens, _open)
    monitor = add("monitor", cmd_monitor, "follow a registry's log: every new checkpoint must "
                  "extend the last one trusted (exit 3 on a rogue checkpoint)")
    monitor.add_argument("--url", required=True, help="the registry's API, e.g. "
                         "https://registry.example/")
    monitor.add_argument("--rpc-url", help="read checkpoints from this JSON-RPC node (default: "
                         "as the API serves them)")
    monitor.add_argument("--registry", help="the AnchorRegistry address (with --rpc-url)")
    monitor.add_argument("--chain-id", type=int, help="the chain the node must serve")
    monitor.add_argument("--state", help="JSON file keeping the last trusted checkpoint "
                         "between runs")
    monitor.add_argument("--log-key", help="the registry's C2SP verifier key (GET /log/key, "
                         "obtained out of band): also check its signed checkpoint")
    monitor.add_argument("--once", action="store_true", help="one pass, then exit")
    monitor.add_argument("--interval", type=float, default=60.0,
                         help="seconds between passes (default 60)")
    bench = add("bench", cmd_bench, "measure the ledger (see docs/BENCHMARKS.md)")
    bench.add_argument("--quick", action="store_true", help="small sizes (what CI runs)")
    bench.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    bench.add_argument("--scale", type=_positive_count, metavar="N",
                       help="only the ingestion curve, up to N behaviours, e.g. 10000000 "
                       "(default report docs/BENCHMARKS-SCALE.md)")
    bench.add_argument("--output", help="report file (default docs/BENCHMARKS.md for a full "
                       "run; none for --quick)")
    bench.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test",
                       help="PostgreSQL server for the postgres benchmarks (a fresh schema "
                       "is created and dropped)")
    add("audit", cmd_audit, "recompute the Merkle tree from the stored events and compare "
        "with the Merkle log and every anchored root")
    serve = add("serve", cmd_serve, "serve the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1,
                       help="uvicorn worker processes (one ledger: use PostgreSQL for many)")
    serve.add_argument("--signature-window", type=int, default=None, metavar="SECONDS",
                       help="accepted clock skew of signed requests (default 300, or "
                       "CARBON_LEDGER_SIGNATURE_WINDOW_S)")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--log-format", choices=("json", "text"), default=None,
                       help="log lines as JSON objects (default) or text (or "
                       "CARBON_LEDGER_LOG_FORMAT)")
    serve.add_argument("--no-anchoring", action="store_true",
                       help="leave anchoring to another process (or CARBON_LEDGER_API_ANCHORING=0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None:  # this process's own command line (not a caller in its own process)
        tune_gc()
    try:
        status = args.handler(args)
    except LedgerError as error:
        print(f"carbon-ledger: error [{error.code}]: {error}", file=sys.stderr)
        return int(getattr(error, "exit_status", EXIT_ERROR))
    except KeyboardInterrupt:
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())

"""CSV and XLSX downloads of the public registers: ``GET /downloads/{register}.csv`` and
``GET /downloads/{register}.xlsx``. (Not under ``/exports``: that is the resource of credits
exported to another registry.)

Each takes the filters of the register's JSON list (the same names, types and bounds; a bad
one is a 422 problem) and answers every matching row, in the list's order, read a page at a
time from the read models: the CSV is streamed as it is read, the XLSX written to a temporary
file first (see :mod:`api.tabular` for cells, quantities, dates and formula neutralising).
Column titles follow ``Accept-Language`` (Chinese or English). The first page is read before
the answer starts, so an outage is still a 503 problem; one later mid-stream cuts the
download short (the client sees an incomplete body, never a partial file passed as whole).

A register is one :class:`Register` (columns and rows) and one filters function:
:func:`add_register` adds its two routes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from api.access import PUBLIC_LIST
from api.deps import RuntimeDep
from api.filters import RegistryFilter, TextFilter, VintageFilter
from api.i18n import Language, Text, negotiate
from api.schemas.batches import BatchPublic, RegistrySupply, SupplyPublic
from api.schemas.claims import ClaimPublic
from api.schemas.methodologies import MethodologyCode, MethodologyPublic
from api.schemas.proofs import CheckpointPublic
from api.schemas.records import CorrectionPublic
from api.schemas.retirements import RetirementPublic
from api.tabular import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Column,
    csv_chunks,
    grams_columns,
    text_of,
    value,
    write_xlsx,
)
from api.vocabulary import PURPOSE_FIELDS, PURPOSES, STATES
from ledger.domain.retirement import RetirementPurpose
from ledger.projections.queries import Page as RowPage
from ledger.runtime import LedgerRuntime

__all__ = ["PAGE_ROWS", "REGISTERS", "Register", "add_register", "router"]

router = APIRouter(prefix="/downloads", tags=["downloads"])
PAGE_ROWS = 500  # rows read from the read models at a time: what an export holds in memory
Row = dict[str, Any]
Filters = dict[str, Any]


@dataclass(frozen=True)
class Register:
    """An exportable register: its name (``/downloads/{name}.csv``), sheet title, columns,
    and its rows (as the JSON list shows them) matching filters."""

    name: str
    title: Text
    columns: list[Column]
    rows: Callable[[LedgerRuntime, Filters], Iterator[Row]]


def paged(fetch: Callable[[Sequence[Any] | None, int], RowPage],
          shape: Callable[[dict[str, Any]], Any]) -> Iterator[Row]:
    """Every row of a keyset-paginated query, ``PAGE_ROWS`` at a time, as JSON rows."""
    after: Sequence[Any] | None = None
    while True:
        page = fetch(after, PAGE_ROWS)
        for row in page.rows:
            yield shape(row).model_dump(mode="json")
        if page.next_after is None:
            return
        after = page.next_after


def read_pages(query: str, shape: Callable[[dict[str, Any]], Any],
               ) -> Callable[[LedgerRuntime, Filters], Iterator[Row]]:
    """A register's rows: every page of the read models' keyset-paginated ``query`` (the
    name of a :class:`ReadModels` method, looked up on each download; given the filters),
    shaped by ``shape``."""
    def rows(runtime: LedgerRuntime, f: Filters) -> Iterator[Row]:
        fetch = getattr(runtime.views, query)
        return paged(lambda after, limit: fetch(after=after, limit=limit, **f), shape)

    return rows


def _started(rows: Iterator[Row]) -> Iterator[Row]:
    """``rows`` with the first read already done (so its failure is a problem answer)."""
    first = next(rows, None)
    return rows if first is None else chain([first], rows)


def _disposition(name: str, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}.{extension}"',
            "Vary": "Accept-Language"}


def _language(request: Request) -> Language:
    return negotiate(request.headers.get("accept-language"))


def _headers(name: str, extension: str, language: Language) -> dict[str, str]:
    return {**_disposition(name, extension), "Content-Language": language}


def _binary(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": what, "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}}}, **PUBLIC_LIST}


class CsvResponse(StreamingResponse):
    media_type = CSV_MEDIA_TYPE


class XlsxResponse(FileResponse):
    media_type = XLSX_MEDIA_TYPE


def add_register(register: Register, filters: Callable[..., Filters]) -> None:
    """Add ``GET /downloads/{name}.csv`` and ``.xlsx`` of ``register``, filtered by the query
    parameters of ``filters`` (a FastAPI dependency returning them as a dict)."""
    found = Depends(filters)
    what = register.title.en

    @router.get(f"/{register.name}.csv", response_model=None,
                responses=_binary("text/csv", f"{what}, CSV (UTF-8 with BOM)"),
                summary=f"Export {what} as CSV", name=f"download_{register.name}_csv")
    def export_csv(request: Request, runtime: RuntimeDep,
                   chosen: Filters = found) -> Response:
        language = _language(request)
        rows = _started(register.rows(runtime, chosen))
        return CsvResponse(csv_chunks(rows, register.columns, language),
                           headers=_headers(register.name, "csv", language))

    @router.get(f"/{register.name}.xlsx", response_model=None,
                responses=_binary(XLSX_MEDIA_TYPE, f"{what}, XLSX"),
                summary=f"Export {what} as XLSX", name=f"download_{register.name}_xlsx")
    def export_xlsx(request: Request, runtime: RuntimeDep,
                   chosen: Filters = found) -> Response:
        language = _language(request)
        handle, name = tempfile.mkstemp(prefix="carbon-ledger-export-", suffix=".xlsx")
        os.close(handle)
        path = Path(name)
        try:
            write_xlsx(register.rows(runtime, chosen), register.columns, language, path,
                       register.title(language))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return XlsxResponse(path, headers=_headers(register.name, "xlsx", language),
                            background=BackgroundTask(path.unlink, missing_ok=True))

    del export_csv, export_xlsx  # registered on the router


def _instant(path: str) -> Callable[[Row, Language], Any]:
    read = value(path)

    def cell(row: Row, language: Language) -> Any:
        found = read(row, language)
        return text_of(datetime.fromisoformat(found)) if isinstance(found, str) else found

    return cell


def _quantity(path: str, en: str, zh: str) -> list[Column]:
    return grams_columns(path, Text(en=f"{en} (g CO2e)", zh=f"{zh} (克二氧化碳当量)"),
                         Text(en=f"{en} (t CO2e)", zh=f"{zh} (吨二氧化碳当量)"))


def _supply_columns(prefix: str) -> list[Column]:
    columns = _quantity(f"{prefix}issued_g", "Issued", "已签发")
    for state, name in STATES.items():
        columns += _quantity(f"{prefix}{state.value}_g", name.en, name.zh)
    return columns


ID = Column(Text(en="ID", zh="编号"), value("id"))
REGISTRY = Column(Text(en="Registry", zh="登记簿"), value("registry"))
VINTAGE = Column(Text(en="Vintage", zh="年份"), value("vintage"))
BLOCK = Column(Text(en="Block", zh="批次编号"), value("block"))
REGION = Column(Text(en="Region", zh="地区"), value("region"))


def _serials(row: Row, language: Language) -> str:
    return " ".join(f"{r['start']}-{r['end']}" for r in row["serials"])


def _purpose_name(row: Row, language: Language) -> str:
    return PURPOSES[RetirementPurpose(row["purpose"])](language)


# -- retirements: the public retirement register

RETIREMENTS = Register("retirements", Text(en="Retirements", zh="注销登记"), [
    ID,
    Column(Text(en="Retired at (UTC)", zh="注销时间 (UTC)"), _instant("retired_at")),
    REGISTRY, BLOCK, VINTAGE,
    Column(Text(en="Batch ID", zh="批次 ID"), value("batch_id")),
    Column(Text(en="Holder ID", zh="持有方 ID"), value("holder.id")),
    Column(Text(en="Holder kind", zh="持有方类型"), value("holder.kind")),
    Column(Text(en="Holder name", zh="持有方名称"), value("holder.name")),
    *_quantity("quantity_g", "Quantity", "数量"),
    Column(Text(en="Serials (start-end, end exclusive)", zh="序列号 (起-止, 不含止)"),
           _serials),
    Column(PURPOSE_FIELDS["beneficiary"], value("beneficiary")),
    Column(Text(en="Purpose code", zh="用途代码"), value("purpose")),
    Column(PURPOSE_FIELDS["purpose"], _purpose_name),
    Column(PURPOSE_FIELDS["jurisdiction"], value("jurisdiction")),
    Column(PURPOSE_FIELDS["consumption_period"], value("consumption_period")),
    Column(Text(en="Purpose details (JSON)", zh="用途详情 (JSON)"), value("details")),
    Column(Text(en="Trade", zh="交易"), value("trade_ref")),
], read_pages("retirements_page", RetirementPublic.from_row))


def retirement_filters(purpose: RetirementPurpose | None = None,
                       beneficiary: TextFilter = None, batch_id: UUID | None = None,
                       holder: UUID | None = None, registry: RegistryFilter = None,
                       vintage: VintageFilter = None,
                       jurisdiction: TextFilter = None) -> Filters:
    return {"purpose": purpose, "beneficiary": beneficiary, "batch": batch_id,
            "holder": holder, "registry": registry, "vintage": vintage,
            "jurisdiction": jurisdiction}


# -- batches, with their supply by state

BATCHES = Register("batches", Text(en="Batches", zh="批次"), [
    ID, BLOCK, REGISTRY, VINTAGE,
    Column(Text(en="Methodology ID", zh="方法学 ID"), value("methodology_id")),
    Column(Text(en="Methodology", zh="方法学"), value("methodology_label")),
    REGION,
    Column(Text(en="Project type", zh="项目类型"), value("project_type")),
    Column(Text(en="Origin", zh="来源"), value("origin")),
    Column(Text(en="Issued at (UTC)", zh="签发时间 (UTC)"), _instant("issued_at")),
    *_quantity("quantity_g", "Quantity", "数量"),
    Column(Text(en="First serial", zh="起始序列号"), value("serial_start")),
    Column(Text(en="End serial (exclusive)", zh="结束序列号 (不含)"), value("serial_end")),
    *_supply_columns("supply."),
], read_pages("batches_page", BatchPublic.from_row))


def batch_filters(registry: RegistryFilter = None, vintage: VintageFilter = None,
                  region: TextFilter = None, methodology_id: UUID | None = None,
                  project_type: TextFilter = None,
                  origin: Literal["issued", "imported"] | None = None) -> Filters:
    return {"registry": registry, "vintage": vintage, "region": region,
            "methodology": methodology_id, "project_type": project_type, "origin": origin}


# -- supply per registry (GET /supply's by_registry)

def _supply_rows(runtime: LedgerRuntime, f: Filters) -> Iterator[Row]:
    for row in runtime.views.supply_totals(**f):  # one row per registry: small
        yield RegistrySupply(registry=row["registry"], batches=row["batches"],
                             supply=SupplyPublic.from_row(row)).model_dump(mode="json")


SUPPLY = Register("supply", Text(en="Supply", zh="供给"), [
    REGISTRY, Column(Text(en="Batches", zh="批次数"), value("batches")),
    *_supply_columns("supply."),
], _supply_rows)


def supply_filters(registry: RegistryFilter = None, vintage: VintageFilter = None,
                   region: TextFilter = None, project_type: TextFilter = None) -> Filters:
    return {"registry": registry, "vintage": vintage, "region": region,
            "project_type": project_type}


# -- methodologies

METHODOLOGIES = Register("methodologies", Text(en="Methodologies", zh="方法学"), [
    ID,
    Column(Text(en="Code", zh="代码"), value("code")),
    Column(Text(en="Version", zh="版本"), value("version")),
    REGION,
    Column(Text(en="Scene", zh="场景"), value("scene")),
    Column(Text(en="Activity unit", zh="活动单位"), value("activity_unit")),
    Column(Text(en="Factor (g CO2e per unit)", zh="排放因子 (克二氧化碳当量/单位)"),
           value("factor_g_per_unit")),
    Column(Text(en="Maximum activity", zh="活动量上限"), value("max_activity")),
    Column(Text(en="Valid from (UTC)", zh="生效时间 (UTC)"), _instant("valid_from")),
    Column(Text(en="Valid until (UTC)", zh="失效时间 (UTC)"), _instant("valid_until")),
    Column(Text(en="Superseded by", zh="被替代为"), value("superseded_by")),
], read_pages("methodologies_page", MethodologyPublic.from_row))


def methodology_filters(code: Annotated[MethodologyCode | None, Query()] = None,
                        region: TextFilter = None, scene: TextFilter = None) -> Filters:
    return {"code": code, "region": region, "scene": scene}


# -- neutrality claims

CLAIMS = Register("claims", Text(en="Neutrality claims", zh="碳中和声明"), [
    ID,
    Column(Text(en="Organiser", zh="组织方"), value("organiser")),
    Column(Text(en="Event", zh="活动"), value("event_name")),
    Column(Text(en="Scope", zh="范围"), value("scope")),
    *_quantity("footprint_g", "Footprint", "碳足迹"),
    *_quantity("retired_g", "Retired", "已注销"),
    *_quantity("outstanding_g", "Outstanding", "尚缺"),
    Column(Text(en="Donated points", zh="捐赠积分"), value("donated_points")),
    Column(Text(en="Met", zh="已达成"), value("met")),
    Column(Text(en="Registered at (UTC)", zh="登记时间 (UTC)"), _instant("registered_at")),
], read_pages("claims_page", ClaimPublic.from_row))


def claim_filters(organiser: UUID | None = None,
                  scope: Annotated[str | None, Query(max_length=64)] = None,
                  met: bool | None = None) -> Filters:
    return {"organiser": organiser, "scope": scope, "met": met}


# -- checkpoints: the event log's roots anchored on chain

def _checkpoint_rows(runtime: LedgerRuntime, f: Filters) -> Iterator[Row]:
    for r in runtime.anchoring.anchorer.anchors():
        if r.tree_size > f["after_tree_size"]:
            yield CheckpointPublic(
                tree_size=r.tree_size, root=r.root.hex(), chain_id=r.chain_id,
                contract_address=r.contract_address, transaction=r.tx_hash,
                block_number=r.block_number, checkpoint_index=r.checkpoint_index,
                final=r.final, submitted_at=r.submitted_at.isoformat()).model_dump(mode="json")


CHECKPOINTS = Register("checkpoints", Text(en="Checkpoints", zh="检查点"), [
    Column(Text(en="Tree size", zh="树大小"), value("tree_size")),
    Column(Text(en="Root", zh="根哈希"), value("root")),
    Column(Text(en="Chain ID", zh="链 ID"), value("chain_id")),
    Column(Text(en="Contract", zh="合约地址"), value("contract_address")),
    Column(Text(en="Transaction", zh="交易哈希"), value("transaction")),
    Column(Text(en="Block number", zh="区块高度"), value("block_number")),
    Column(Text(en="Checkpoint index", zh="检查点序号"), value("checkpoint_index")),
    Column(Text(en="Final", zh="已最终确认"), value("final")),
    Column(Text(en="Submitted at (UTC)", zh="提交时间 (UTC)"), _instant("submitted_at")),
], _checkpoint_rows)


def checkpoint_filters(
        after_tree_size: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0) -> Filters:
    return {"after_tree_size": after_tree_size}


# -- corrections of batches: the field, its old and new value, the reason (public)

CORRECTIONS = Register("corrections", Text(en="Corrections", zh="更正记录"), [
    Column(Text(en="Log position", zh="日志位置"), value("position")),
    Column(Text(en="Batch ID", zh="批次编号"), value("batch_id")),
    Column(Text(en="Field", zh="字段"), value("field")),
    Column(Text(en="Previous value", zh="原值"), value("previous")),
    Column(Text(en="New value", zh="新值"), value("value")),
    Column(Text(en="Reason", zh="原因"), value("reason")),
    Column(Text(en="Corrected at (UTC)", zh="更正时间 (UTC)"), _instant("at")),
], read_pages("corrections_page", CorrectionPublic.from_row))


def correction_filters(batch_id: UUID | None = None,
                       field: Annotated[str | None, Query(max_length=32)] = None) -> Filters:
    return {"batch": batch_id, "field": field}


REGISTERS: tuple[tuple[Register, Callable[..., Filters]], ...] = (
    (RETIREMENTS, retirement_filters), (BATCHES, batch_filters), (SUPPLY, supply_filters),
    (METHODOLOGIES, methodology_filters), (CLAIMS, claim_filters),
    (CHECKPOINTS, checkpoint_filters), (CORRECTIONS, correction_filters),
)
for _register, _filters in REGISTERS:
    add_register(_register, _filters)

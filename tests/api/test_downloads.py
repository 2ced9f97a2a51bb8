"""CSV and XLSX exports of the public registers: the JSON register, cell for cell."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from api import tabular
from api.i18n import Text
from api.routers import downloads
from api.tabular import Column, csv_chunks, neutralise, tonnes_text, value
from ledger.projections.queries import ReadModels
from tests.api.support import World, assert_problem

T = 1_000_000
# (the API refuses control characters in names, so tab and CR are checked on neutralise())
TRICKY = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2", "@SUM(A1)", "武汉绿色出行",
          "Plain, \"quoted\"; 'single'"]


def _retire(world: World, batch: Any, holder: Any, beneficiary: str, grams: int,
            purpose: dict[str, Any] | None = None) -> dict[str, Any]:
    response = world.api.post(holder, "/retirements", json={
        "batch_id": str(batch), "quantity_g": grams, "beneficiary": beneficiary,
        "jurisdiction": "Hubei", "consumption_period": "2024",
        "purpose": purpose or {"kind": "voluntary"}})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def register(world: World) -> World:
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "100 t")
    for n, beneficiary in enumerate(TRICKY):
        _retire(world, batch, platform, beneficiary, 1_234_567 + n, {
            "kind": "donation", "recipient": "-=recipient"} if n == 2 else None)
    return world


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def _xlsx(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == tabular.XLSX_MEDIA_TYPE
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _json_register(world: World, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = world.api.get(None, path, params={**params, "limit": 3,
                                                  **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def _unneutralised(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@", "\t",
                                                               "\r") else cell


def test_retirements_csv_is_the_json_register(register: World):
    rows = _csv(register.api.get(None, "/downloads/retirements.csv"))
    header, body = rows[0], rows[1:]
    items = _json_register(register, "/retirements")
    assert len(body) == len(items) == len(TRICKY)
    col = {title: i for i, title in enumerate(header)}
    for row, item in zip(body, items, strict=True):
        assert row[col["ID"]] == item["id"]
        assert int(row[col["Quantity (g CO2e)"]]) == item["quantity_g"]
        grams = item["quantity_g"]
        assert row[col["Quantity (t CO2e)"]] == f"{grams // T}.{grams % T:06d}"
        assert _unneutralised(row[col["Beneficiary"]]) == item["beneficiary"]
        assert row[col["Retired at (UTC)"]] == item["retired_at"]
        assert row[col["Retired at (UTC)"]].endswith("Z")
        assert row[col["Holder ID"]] == item["holder"]["id"]
        assert row[col["Serials (start-end, end exclusive)"]] == " ".join(
            f"{r['start']}-{r['end']}" for r in item["serials"])
        assert row[col["Purpose code"]] == item["purpose"]


def test_retirements_xlsx_is_the_json_register(register: World):
    rows = _xlsx(register.api.get(None, "/downloads/retirements.xlsx"))
    header, body = rows[0], rows[1:]
    items = _json_register(register, "/retirements")
    col = {title: i for i, title in enumerate(header)}
    assert len(body) == len(items)
    for row, item in zip(body, items, strict=True):
        assert row[col["ID"]] == item["id"]
        assert row[col["Quantity (g CO2e)"]] == item["quantity_g"]  # a number, exact
        assert isinstance(row[col["Quantity (t CO2e)"]], str)
        assert _unneutralised(row[col["Beneficiary"]]) == item["beneficiary"]
        assert row[col["Retired at (UTC)"]] == item["retired_at"]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_formulas_are_neutralised(register: World, extension: str):
    response = register.api.get(None, f"/downloads/retirements.{extension}")
    rows = _csv(response) if extension == "csv" else _xlsx(response)
    cells = [cell for row in rows[1:] for cell in row if isinstance(cell, str)]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in cells
    assert "'-2" in cells and "'@SUM(A1)" in cells and "'+1+1" in cells
    assert "武汉绿色出行" in cells  # other text untouched
    if extension == "xlsx":  # no cell is stored as a formula
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_headers_follow_accept_language(register: World):
    response = register.api.client.get("/downloads/retirements.csv",
                                       headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    rows = _csv(response)
    assert "受益方" in rows[0] and "数量 (吨二氧化碳当量)" in rows[0]
    assert "自愿注销" in rows[1]  # the purpose's name in Chinese
    assert response.headers["content-language"] == "zh"
    assert "accept-language" in response.headers["vary"].lower()
    assert response.headers["content-disposition"] == 'attachment; filename="retirements.csv"'
    english = _xlsx(register.api.get(None, "/downloads/retirements.xlsx"))
    assert "Beneficiary" in english[0]


def test_filters_are_honoured(register: World):
    body = _csv(register.api.get(None, "/downloads/retirements.csv",
                                 params={"purpose": "donation"}))[1:]
    assert len(body) == 1 and "'-2" in body[0]
    body = _csv(register.api.get(None, "/downloads/retirements.csv",
                                 params={"beneficiary": "武汉绿色出行"}))[1:]
    assert len(body) == 1
    assert _csv(register.api.get(None, "/downloads/retirements.csv",
                                 params={"registry": "SHCER"})) [1:] == []
    assert len(_xlsx(register.api.get(None, "/downloads/retirements.xlsx",
                                      params={"vintage": 2024}))) - 1 == len(
        _json_register(register, "/retirements", vintage=2024))


@pytest.mark.parametrize("path", [
    "/downloads/retirements.csv?purpose=nonsense", "/downloads/retirements.xlsx?vintage=1800",
    "/downloads/batches.csv?origin=stolen", "/downloads/claims.xlsx?met=perhaps",
    "/downloads/checkpoints.csv?after_tree_size=-1", "/downloads/methodologies.csv?code=bad code",
    "/downloads/supply.csv?registry=" + "X" * 300,
])
def test_bad_filters_are_problems(world: World, path: str):
    assert_problem(world.api.client.get(path), 422, "validation-error")


def test_every_register_exports(register: World):
    register.runtime.sync()
    expected = {"batches": _json_register(register, "/batches"),
                "methodologies": _json_register(register, "/methodologies"),
                "claims": _json_register(register, "/claims")}
    for name, items in expected.items():
        rows = _csv(register.api.get(None, f"/downloads/{name}.csv"))
        assert [row[0] for row in rows[1:]] == [item["id"] for item in items], name
        assert len(_xlsx(register.api.get(None, f"/downloads/{name}.xlsx"))) == len(rows)
    batches = _csv(register.api.get(None, "/downloads/batches.csv"))
    col = {title: i for i, title in enumerate(batches[0])}
    batch = expected["batches"][0]
    assert int(batches[1][col["Retired (g CO2e)"]]) == batch["supply"]["retired_g"]
    supply = register.api.get(None, "/supply").json()
    rows = _csv(register.api.get(None, "/downloads/supply.csv"))
    col = {title: i for i, title in enumerate(rows[0])}
    assert [(r[0], int(r[col["Issued (g CO2e)"]])) for r in rows[1:]] == [
        (s["registry"], s["supply"]["issued_g"]) for s in supply["by_registry"]]
    checkpoints = _csv(register.api.get(None, "/downloads/checkpoints.csv"))
    assert checkpoints[0][0] == "Tree size"


def test_a_big_register_streams_a_page_at_a_time(register: World,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(downloads, "PAGE_ROWS", 2)
    monkeypatch.setattr(tabular, "CHUNK_BYTES", 1)  # a chunk per row
    limits: list[int] = []
    original = ReadModels.retirements_page

    def spy(self: ReadModels, **kwargs: Any) -> Any:
        limits.append(kwargs["limit"])
        return original(self, **kwargs)

    monkeypatch.setattr(ReadModels, "retirements_page", spy)
    chunks = []
    with register.api.client.stream("GET", "/downloads/retirements.csv") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not buffered
        chunks = list(response.iter_bytes())
    assert limits == [2] * -(-len(TRICKY) // 2)  # never more than a page in memory
    text = b"".join(chunks).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == len(TRICKY) + 1


def test_cells_are_exact():
    assert tonnes_text(0) == "0.000000"
    assert tonnes_text(1) == "0.000001"
    assert tonnes_text(4_544_760_000) == "4544.760000"
    assert tonnes_text(10**15 + 1) == "1000000000.000001"
    assert tonnes_text(-1_500_000) == "-1.500000"
    assert neutralise("=1") == "'=1" and neutralise("a=1") == "a=1"
    assert neutralise("\tx") == "'\tx" and neutralise("\r=1") == "'\r=1"
    columns = [Column(Text(en="N", zh="数"), value("n"))]
    big = 2**62 + 1
    out = b"".join(csv_chunks([{"n": big}], columns, "en")).decode("utf-8-sig")
    assert out == f"N\r\n{big}\r\n"
    assert tabular._xlsx_cell(big) == str(big) and tabular._xlsx_cell(2**53) == 2**53


def test_corrections_export_with_old_and_new_values(world: World):
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "1 t")
    world.ledger.correct_batch(actor=world.operator.id, batch_id=batch, field="region",
                               value="=Hubei", reason="typo")
    world.runtime.sync()
    expected = _json_register(world, "/corrections")
    rows = _csv(world.api.get(None, "/downloads/corrections.csv"))
    assert rows[0][:6] == ["Log position", "Batch ID", "Field", "Previous value", "New value",
                           "Reason"]
    assert [[int(r[0]), r[1], r[2], r[3], _unneutralised(r[4]), r[5]] for r in rows[1:]] == [
        [i["position"], i["batch_id"], i["field"], i["previous"], i["value"], i["reason"]]
        for i in expected]
    assert rows[1][4] == "'=Hubei"  # a formula-looking new value is neutralised
    other = _csv(world.api.get(None, "/downloads/corrections.csv",
                               params={"field": "vintage"}))
    assert other[1:] == []
    sheet = _xlsx(world.api.get(None, "/downloads/corrections.xlsx",
                                headers={"accept-language": "zh-CN"}))
    assert sheet[0][:3] == ["日志位置", "批次编号", "字段"] and len(sheet) == 2
    assert_problem(world.api.client.get("/downloads/corrections.csv?field=" + "f" * 33),
                   422, "validation-error")

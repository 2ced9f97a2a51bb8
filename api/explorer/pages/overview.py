"""The registry overview: supply by registry, vintage, methodology and lot state, as tables
and as charts (summed in one pass by the query layer's ``supply_breakdowns``, which
``GET /supply`` also sums through)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.charts import Bar, Segment, bar_chart, stacked_bar_chart
from api.explorer.layout import language_of, render
from api.vocabulary import STATES
from ledger.domain.credit_batch import LotState

__all__ = ["router"]

router = APIRouter()
STATE_ORDER: tuple[LotState, ...] = tuple(LotState)


def _breakdown(rows: list[dict[str, Any]], key: str, language: str) -> list[Bar]:
    return [Bar(label=str(row[key]), segments=[
        Segment(STATES[state](language), int(row[state.value]))  # type: ignore[arg-type]
        for state in STATE_ORDER]) for row in rows]


@router.get("/", include_in_schema=False)
def root(request: Request) -> RedirectResponse:
    """Nothing else is served at ``/``: it leads to the explorer."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/explorer/{query}", status_code=307)


@router.get("/explorer", include_in_schema=False)
@router.get("/explorer/", include_in_schema=False)
def overview(request: Request, views: ViewsDep) -> HTMLResponse:
    language = language_of(request)
    legend = [STATES[state](language) for state in STATE_ORDER]
    sections = []
    titles = {"registry": labels.SUPPLY_BY_REGISTRY, "vintage": labels.SUPPLY_BY_VINTAGE,
              "methodology": labels.SUPPLY_BY_METHODOLOGY}
    for key, rows in views.supply_breakdowns(tuple(titles)).items():
        title = titles[key]
        sections.append({
            "key": key, "title": title, "rows": rows,
            "chart": stacked_bar_chart(title(language), _breakdown(rows, key, language),
                                       legend)})
    totals = {state.value: sum(int(r[state.value]) for r in sections[0]["rows"])
              for state in STATE_ORDER}
    issued = sum(int(r["issued"]) for r in sections[0]["rows"])
    state_chart = bar_chart(labels.CHART_STATES(language), [
        Bar(STATES[state](language), [Segment(STATES[state](language), totals[state.value])])
        for state in STATE_ORDER])
    return render(request, "overview.html", labels.OVERVIEW, sections=sections,
                  states=[s.value for s in STATE_ORDER], totals=totals, issued=issued,
                  state_chart=state_chart)

"""The query-layer functions the explorer added, used by the pages and the JSON routers."""

from __future__ import annotations

import pytest

from tests.api.explorer.conftest import Registry, T


def test_supply_is_broken_down_by_every_key_in_one_pass(registry: Registry):
    views = registry.world.runtime.views
    found = views.supply_breakdowns(("registry", "vintage", "methodology", "region"))
    assert [(r["registry"], r["issued"], r["retired"]) for r in found["registry"]] == [
        ("HBCER", 10_000 * T, 10 * T), ("SHCER", 2_500_500_000, 1_234_567)]
    (vintage,) = found["vintage"]
    assert (vintage["vintage"], vintage["batches"], vintage["issued"]) == (
        2024, 2, 12_500_500_000)
    assert vintage["available"] + vintage["retired"] == vintage["issued"]
    assert [r["methodology"] for r in found["methodology"]] == ["WH-EV-CHARGING-V1 v1"]
    assert views.supply_totals() == found["registry"]
    assert views.supply_totals(by="vintage", registry="SHCER")[0]["issued"] == 2_500_500_000
    with pytest.raises(ValueError, match="holder"):
        views.supply_breakdowns(("registry", "holder"))


def test_the_register_searches_beneficiaries_literally(registry: Registry):
    world = registry.world
    world.ledger.retire(actor=registry.holder.id, batch_id=registry.hubei, quantity=T,
                        beneficiary="100% Green_Co", purpose="voluntary", jurisdiction="CN",
                        consumption_period="2026")
    world.runtime.sync()
    views = world.runtime.views

    def names(text: str) -> list[str]:
        return [r["beneficiary"] for r in views.retirements_page(beneficiary_contains=text).rows]

    assert names("100% green_") == ["100% Green_Co"]
    assert names("%") == ["100% Green_Co"] and names("_") == ["100% Green_Co"]
    assert names("MARATHON") == ["Wuhan Marathon"]
    retired_at = views.retirement(registry.retired)["retired_at"]
    day = retired_at[:10]
    assert len(views.retirements_page(retired_from=day).rows) == 3
    assert views.retirements_page(retired_before=day).rows == []

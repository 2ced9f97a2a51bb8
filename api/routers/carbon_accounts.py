"""Persons' carbon accounts (碳账户), read by the person, the platforms that report for
them, registry operators and auditors."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path

from api.access import PRIVILEGED, READ, require
from api.deps import CallerDep, ViewsDep
from api.pagination import PageDep, PageQuery
from api.schemas.carbon_accounts import AccountEntryPublic, CarbonAccountStatement
from ledger.domain.ids import individual_account_id
from ledger.domain.participant import Role
from ledger.projections.queries import ReadModels

__all__ = ["router", "statement"]

router = APIRouter(prefix="/carbon-accounts", tags=["carbon accounts"])
ENTRIES = "account-entries"


def statement(views: ReadModels, account: UUID, page: PageQuery) -> CarbonAccountStatement:
    """An account's totals and one page of its entries."""
    entries = views.account_entries_page(account, after=page.after(ENTRIES, int),
                                         limit=page.limit)
    return CarbonAccountStatement(
        **views.carbon_account_summary(account),
        entries=[AccountEntryPublic.from_row(e) for e in entries.rows],
        next_cursor=page.next_cursor(ENTRIES, entries))


@router.get("/{pseudonym}", response_model=CarbonAccountStatement, responses=READ)
def get_carbon_account(
    pseudonym: Annotated[str, Path(min_length=1, max_length=200,
                                   description="the person's pseudonymous id")],
    caller: CallerDep, views: ViewsDep, page: PageDep,
) -> CarbonAccountStatement:
    """A person's carbon account: points earned by behaviours, redeemed, donated, left.
    Readable by the person, by a platform that reported behaviours of the person, and by
    registry operators and auditors."""
    account = individual_account_id(pseudonym)
    require(caller.id == account or caller.has_role(*PRIVILEGED)
            or (caller.has_role(Role.REPORTER) and views.has_reported_for(caller.id, account)),
            caller, "only the person, its platforms, registry operators and auditors may "
            "read a carbon account")
    return statement(views, account, page)

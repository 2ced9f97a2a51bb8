"""One router per resource. To add a resource (certificates, proofs, checkpoints), write
its module with a ``router`` and append it to :data:`ROUTERS`."""

from fastapi import APIRouter

from api.routers import (
    batches,
    behaviours,
    carbon_accounts,
    claims,
    downloads,
    feed,
    holdings,
    imports,
    issuance,
    listings,
    log,
    mandates,
    me,
    methodologies,
    participants,
    pledges,
    proofs,
    records,
    retirements,
    serials,
    supply,
    tokens,
    trades,
    trust,
    webhooks,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    downloads.router,
    proofs.router,
    log.router,
    trust.router,
    participants.router,
    me.router,
    mandates.router,
    methodologies.router,
    behaviours.router,
    carbon_accounts.router,
    issuance.router,
    batches.router,
    supply.router,
    serials.router,
    records.router,
    imports.router,
    holdings.router,
    listings.router,
    trades.router,
    pledges.router,
    retirements.router,
    claims.router,
    tokens.router,
    feed.router,
    webhooks.router,
]

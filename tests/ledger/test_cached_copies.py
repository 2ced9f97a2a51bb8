"""A copy of a batch handed out by the cache stays as it was while the cached batch moves on
(the copy-on-write tables are shared between them)."""

from __future__ import annotations

from tests.ledger.conftest import TONNE, World


def test_a_copy_held_while_the_cache_moves_on_does_not_change(world: World) -> None:
    ledger = world.ledger
    batch_id = world.project_batch(quantity=TONNE)
    for _ in range(70):  # lots in most shards (exports are the batch's own lots)
        ledger.export(actor=world.emitter, batch_id=batch_id, quantity=10, destination="CCER")
    held = ledger.batch(batch_id)
    before = {key: [list(r) for r in ranges] for key, ranges in held.lots.items()}
    for _ in range(70):  # the cached batch is brought forward past ``held``
        ledger.export(actor=world.emitter, batch_id=batch_id, quantity=10, destination="CCER")
    # each export: the credits moved from the holder's holding, then exported
    assert ledger.batch(batch_id).version == held.version + 2 * 70
    assert {key: [list(r) for r in ranges] for key, ranges in held.lots.items()} == before

"""Property-based tests of the whole OpenAPI document with schemathesis: every operation,
with generated valid and invalid requests, as an authenticated holder. All default checks
run (no server errors, documented status codes, content types, headers and response
schemas, invalid data refused, authentication enforced) except ``positive_data_acceptance``:
a schema-valid request can still break a rule JSON Schema cannot state (a cursor this API
did not hand out, a period ending before it starts, a methodology not valid when a
behaviour occurred), and the ledger rightly answers those with a 422 problem."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from api import ApiSettings, create_app
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import World

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory):
    """An app on a small ledger (shared by all operations, so later ones see what earlier
    ones wrote), and the API key of an enterprise, which may write unsigned."""
    data = tmp_path_factory.mktemp("schemathesis") / "ledger"
    with LedgerRuntime(Settings(data_dir=data, database_url=None)) as runtime:
        app = create_app(ApiSettings.for_data_dir(data), runtime=runtime)
        with TestClient(app) as client:
            world = World.create(runtime, client)
            batch = world.project_batch(world.actors["platform"], "100 t")
            world.ledger.transfer(actor=world.actors["platform"].id, batch_id=batch,
                                  recipient=world.actors["enterprise"].id, quantity=10**7)
            world.runtime.sync()
            yield app, world.actors["enterprise"].secret


@pytest.fixture(scope="module")
def api_schema(holder):
    app, _ = holder
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The test sends the holder's API key itself: no generated credentials, and no requests
    # made "invalid" by leaving out the key that is then added anyway.
    loaded.config.generation.update(with_security_parameters=False)
    return loaded


# The live feed never ends by itself (tests/api/test_feed.py reads it with a limit).
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/feed/stream")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_openapi_document(case, holder):
    _, secret = holder
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"},
                           excluded_checks=[positive_data_acceptance])

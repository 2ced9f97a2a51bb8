"""The OpenAPI document says what the API does: models, problems, security."""

from __future__ import annotations

from api.tabular import XLSX_MEDIA_TYPE
from tests.api.support import PROBLEM, World

WRITE_METHODS = {"post", "put", "delete"}


def test_the_document_declares_models_problems_and_security(world: World):
    document = world.api.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "http", "scheme": "bearer",
                                 "bearerFormat": "cl_<key_id>_<secret>",
                                 "description": schemes["ApiKey"]["description"]}
    assert schemes["RequestSignature"]["name"] == "X-Carbon-Signature"
    assert "CARBON-LEDGER-SIG-V1" in schemes["RequestSignature"]["description"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    public = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [s for s in responses if s.startswith("2")]
            assert len(success) == 1, (method, path)
            content = responses[success[0]]["content"]
            assert "$ref" in str(content) or list(content) in (
                ["text/plain"], ["application/octet-stream"], ["text/event-stream"],
                ["text/csv"], [XLSX_MEDIA_TYPE], ["application/pdf"]), (
                method, path)
            for status, response in responses.items():
                if status[0] in "45":
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
                    schema = response["content"][PROBLEM]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}
            if method in WRITE_METHODS:
                assert operation["security"] == [
                    {"ApiKey": []}, {"ApiKey": [], "RequestSignature": []}], path
                assert {"401", "403", "409", "422"} <= set(responses), path
                assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}
            elif "security" not in operation:
                public.add(path)
    assert public == {
        "/participants", "/participants/{participant_id}", "/methodologies",
        "/methodologies/{methodology_id}", "/batches", "/batches/{batch_id}", "/supply",
        "/checkpoints", "/trust-anchors", "/retirements/{retirement_id}/certificate",
        "/retirements/{retirement_id}/certificate.pdf", "/claims/{claim_id}/certificate.pdf",
        "/serials/{block}/{serial}", "/retirements", "/retirements/{retirement_id}",
        "/claims", "/claims/{claim_id}", "/corrections", "/log/leaves/{leaf_index}/inclusion",
        "/log/events/{position}/inclusion",
        "/log/aggregates/{originator_id}/versions/{version}/inclusion", "/log/consistency",
        "/log/chain-checkpoints", "/log/chain-checkpoints/latest", "/log/checkpoint",
        "/log/key", "/log/tile/entries/{index}", "/log/tile/{level}/{index}",
        *(f"/downloads/{register}.{extension}" for extension in ("csv", "xlsx")
          for register in ("retirements", "batches", "supply", "methodologies", "claims",
                           "checkpoints", "corrections"))}


def test_quantities_are_integers_of_grams_or_text(world: World):
    schemas = world.api.client.get("/openapi.json").json()["components"]["schemas"]
    quantity = schemas["TransferCreate"]["properties"]["quantity_g"]
    integer, text = quantity["anyOf"]
    assert (integer["type"], integer["minimum"]) == ("integer", 1)
    # no pattern of its own: the domain's parser decides, and its refusal lists the forms
    assert text["type"] == "string" and text["maxLength"] == 64 and "pattern" not in text
    assert "吨" in quantity["description"] and "'1,500,000'" in quantity["description"]
    assert schemas["TransferCreate"]["additionalProperties"] is False
    assert schemas["RetirementPublic"]["properties"]["quantity_g"]["type"] == "integer"

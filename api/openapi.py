"""The OpenAPI document, completed where FastAPI cannot say it by itself: problems are
``application/problem+json``, and writes may carry a request signature besides the API key."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.auth import PARTICIPANT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from api.auth import __doc__ as auth_doc
from api.problems import PROBLEM_MEDIA_TYPE

__all__ = ["install_openapi"]

SIGNATURE_SCHEME = "RequestSignature"
_WRITE_METHODS = {"post", "put", "patch", "delete"}


def _signature_scheme() -> dict[str, Any]:
    return {"type": "apiKey", "in": "header", "name": SIGNATURE_HEADER,
            "description": (
                f"Ed25519 request signature, with {PARTICIPANT_HEADER} and {TIMESTAMP_HEADER}; "
                "required on writes of banks, exchanges and registry operators.\n\n"
                + (auth_doc or ""))}


def _complete(document: dict[str, Any]) -> dict[str, Any]:
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[SIGNATURE_SCHEME] = _signature_scheme()
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
                elif content.get("application/json") == {"schema": {}} and len(content) > 1:
                    del content["application/json"]  # a text route: only its own type
            if method in _WRITE_METHODS and operation.get("security"):
                operation["security"] = [{"ApiKey": []}, {"ApiKey": [], SIGNATURE_SCHEME: []}]
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, tags=app.openapi_tags))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

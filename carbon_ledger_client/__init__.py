"""carbon-ledger client for integrators (exchanges, banks, platforms).

Depends on ``httpx`` and ``cryptography`` only::

    from carbon_ledger_client import CarbonLedgerClient
    with CarbonLedgerClient("https://registry.example", api_key, participant=my_id,
                            signing_key=my_ed25519_key) as client:
        for balance in client.balances():
            ...

See ``api/README.md`` ("The Python client").
"""

from carbon_ledger_client.client import CarbonLedgerClient, RetryPolicy
from carbon_ledger_client.errors import (
    ApiError,
    AuthenticationError,
    CarbonLedgerError,
    ConflictError,
    ConnectionFailedError,
    ConsentRequiredError,
    ForbiddenError,
    NotFoundError,
    RequestIncompleteError,
    ServerError,
    ServiceUnavailableError,
    ValidationError,
)
from carbon_ledger_client.signing import canonical_string, sign_request

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CarbonLedgerClient",
    "CarbonLedgerError",
    "ConflictError",
    "ConnectionFailedError",
    "ConsentRequiredError",
    "ForbiddenError",
    "NotFoundError",
    "RequestIncompleteError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "ValidationError",
    "canonical_string",
    "sign_request",
]

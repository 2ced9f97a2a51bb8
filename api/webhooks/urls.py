"""Which URLs a webhook may be delivered to (server-side request forgery).

A URL is ``http`` or ``https`` with a host, no credentials and no fragment. Its host must
resolve to public addresses only: loopback, private, link-local (cloud metadata), multicast,
reserved and unspecified addresses are refused unless the host is in the allow-list or
private delivery is allowed (:class:`~api.webhooks.settings.WebhookSettings`). The check is
made when subscribing and again before every delivery (a name may be re-pointed); redirects
are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from api.webhooks.settings import WebhookSettings
from ledger.domain.errors import ValidationError

__all__ = ["MAX_URL_LENGTH", "check_destination", "check_url"]

MAX_URL_LENGTH = 2048


def check_url(url: str) -> str:
    """The URL, if its form is acceptable; else a ``ValidationError`` naming ``url``."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationError("the URL is too long or holds spaces or control characters",
                              field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValidationError(f"not a URL: {error}", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("a webhook URL is http or https", field="url")
    if not parts.hostname:
        raise ValidationError("a webhook URL names a host", field="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("a webhook URL carries no credentials (the deliveries are "
                              "signed with the subscription's secret)", field="url")
    if parts.fragment:
        raise ValidationError("a webhook URL has no fragment", field="url")
    if port == 0:
        raise ValidationError("port 0 is not a port", field="url")
    return url


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_destination(url: str, settings: WebhookSettings) -> None:
    """Refuse (``ValidationError``) a URL whose host resolves to a non-public address, unless
    allowed by ``settings``, or does not resolve."""
    check_url(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if settings.allow_private or host in settings.allowed_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationError(f"the host {host} does not resolve", field="url") from None
    refused = sorted({str(info[4][0]) for info in infos if _private(str(info[4][0]))})
    if refused:
        raise ValidationError(
            f"the host {host} resolves to a non-public address ({', '.join(refused)}); "
            "private receivers must be allowed by the operator "
            "(CARBON_LEDGER_WEBHOOK_ALLOWED_HOSTS)", field="url")

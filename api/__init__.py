"""HTTP API of the carbon ledger (FastAPI): ``create_app(settings)``."""

from api.app import create_app
from api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]

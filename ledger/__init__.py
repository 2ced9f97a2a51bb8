"""carbon-ledger: an event-sourced carbon asset ledger."""

__version__ = "0.1.0"

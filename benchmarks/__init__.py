"""Benchmarks of carbon-ledger at carbon-inclusion scale (``carbon-ledger bench``)."""

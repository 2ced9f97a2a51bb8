# carbon-ledger HTTP API. Not built on the development machine (no Docker engine there):
# see docs/OPERATIONS.md, and tests/test_deploy_files.py for what is checked without one.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/carbon-ledger

# The locked dependency set first (a layer reused while only the code changes).
COPY pyproject.toml constraints.txt README.md ./
COPY ledger ./ledger
COPY anchoring ./anchoring
COPY api ./api
COPY carbon_ledger_client ./carbon_ledger_client
COPY contracts ./contracts
COPY benchmarks ./benchmarks
RUN python -m pip install -c constraints.txt .

# Runs as an unprivileged user; the data directory (keys, embedded chain, SQLite files or,
# with PostgreSQL, the log signing key and registry address) is a volume it owns.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/carbon-ledger \
        --create-home --shell /usr/sbin/nologin carbon \
    && mkdir -p /var/lib/carbon-ledger/data \
    && chown -R carbon:carbon /var/lib/carbon-ledger \
    && chmod 0700 /var/lib/carbon-ledger/data
USER carbon
ENV CARBON_LEDGER_DATA_DIR=/var/lib/carbon-ledger/data
VOLUME ["/var/lib/carbon-ledger/data"]
WORKDIR /var/lib/carbon-ledger

EXPOSE 8000
CMD ["carbon-ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]

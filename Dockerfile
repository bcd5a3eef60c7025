# slotbook's server in a container. The builder stage turns the source into a wheel and installs it
# into a virtual environment; the final stage copies only that environment into a slim image and
# runs it as an unprivileged user. Build: `docker build -t slotbook-server .`
# Run over PostgreSQL: `docker run -p 8080:8080 -e SLOTBOOK_DB=postgresql://... slotbook-server`
# (or `docker compose up`, see compose.yaml). Without SLOTBOOK_DB it keeps a SQLite file in
# /var/lib/slotbook: mount a volume there to keep it.

FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY shared ./shared
COPY tui ./tui
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/slotbook \
    && /opt/slotbook/bin/pip install /wheels/slotbook-*.whl


FROM python:3.11-slim-bookworm

ENV PATH=/opt/slotbook/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SLOTBOOK_DB=/var/lib/slotbook/slotbook.db

RUN groupadd --system --gid 10001 slotbook \
    && useradd --system --no-log-init --uid 10001 --gid slotbook \
        --home-dir /var/lib/slotbook --create-home --shell /usr/sbin/nologin slotbook

COPY --from=builder /opt/slotbook /opt/slotbook

# By number, so that Kubernetes' runAsNonRoot can tell it is not root without the passwd file.
USER 10001:10001
WORKDIR /var/lib/slotbook
EXPOSE 8080

# /healthz answers 200 once the database answers; urlopen raises (exit 1) on anything else.
# Python's standard library, so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# The command docs/operating.md#in-containers describes; every other setting comes from SLOTBOOK_* variables (SLOTBOOK_DB,
# SLOTBOOK_WORKERS, ...).
CMD ["slotbook-server", "serve", "--host", "0.0.0.0", "--port", "8080"]

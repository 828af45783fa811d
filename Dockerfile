# Paperboy: `paperboy run` as a non-root user, with a HEALTHCHECK on /healthz.
# Build: docker build -t paperboy .   Run with PostgreSQL: docker compose up -d (see docker-compose.yml)

# The base image is pinned by digest (python:3.11-slim); bump it deliberately for security fixes:
#   docker buildx imagetools inspect python:3.11-slim  (the Digest line)
ARG BASE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${BASE} AS build
WORKDIR /src
# constraints.txt locks every runtime dependency, so a rebuild installs what was tested, not whatever
# was released since. Regenerate it after changing pyproject.toml's dependencies (README, "Running it
# for a team").
COPY constraints.txt pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM ${BASE}
RUN useradd --create-home --uid 10001 paperboy
COPY --from=build /wheels /wheels
# --no-index: exactly the wheels built above, nothing fetched at other versions.
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
# Numeric, so a runtime that must check "not root" (Kubernetes runAsNonRoot) can.
USER 10001
WORKDIR /home/paperboy
# Slack HTTP mode listens on all the container's interfaces: its loopback is unreachable from the
# host. Publish the port only towards your HTTPS reverse proxy (docker-compose.yml: host loopback).
# /healthz stays on the container's loopback (the HEALTHCHECK runs inside it); publish it only on purpose.
ENV PYTHONUNBUFFERED=1 \
    PAPERBOY_HEALTH__PORT=8080 \
    PAPERBOY_SLACK__HTTP_HOST=0.0.0.0
EXPOSE 3000 8080
# 200 when every enabled chat platform is connected; urlopen raises on 503, so the check fails then.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["paperboy", "run"]

# StreamGuard: all sg-* tools in one image.
#
#   docker build -t streamguard:latest .
#   docker run --rm streamguard:latest sg-raw-store --help
#
# docker-compose.yml builds this image and runs each tool as its own service.

# --- build stage ------------------------------------------------------------
FROM debian:bookworm-slim AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libpq-dev libjansson-dev libjsmn-dev libcurl4-openssl-dev \
      libssl-dev libmicrohttpd-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*

# The sources live at /src, so the compiled-in SG_SQL_DIR is /src/sql and
# SG_CONFIG_DIR /src/config (the runtime stage links those paths to the
# installed migrations and rules).
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSG_TESTS=OFF \
 && cmake --build /build -j
# The dashboard's chart library, at the version package-lock.json pins
# (the browser test's driver, a dev dependency, is left out).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime stage ----------------------------------------------------------
FROM debian:bookworm-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libjansson4 libcurl4 libssl3 libmicrohttpd12 ca-certificates postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /build/bin/ /usr/local/bin/
COPY --from=build /src/sql/ /usr/share/streamguard/sql/
COPY --from=build /src/config/ /usr/share/streamguard/config/
COPY --from=build /src/api/www/ /usr/share/streamguard/www/
COPY --from=build /src/node_modules/chart.js/dist/chart.umd.js /usr/share/streamguard/chart.umd.js

# sg-migrate is normally given --dir /usr/share/streamguard/sql; the links
# make the compiled-in defaults (/src/sql, /src/config, sg-api's /src/api/www)
# point at the same files.
RUN mkdir -p /src/api \
 && ln -s /usr/share/streamguard/sql /src/sql \
 && ln -s /usr/share/streamguard/config /src/config \
 && ln -s /usr/share/streamguard/www /src/api/www \
 && mkdir -p /src/node_modules/chart.js/dist \
 && ln -s /usr/share/streamguard/chart.umd.js /src/node_modules/chart.js/dist/chart.umd.js \
 && useradd --system --uid 10001 --user-group --create-home \
      --home-dir /home/streamguard --shell /usr/sbin/nologin streamguard

USER streamguard
WORKDIR /home/streamguard

# Each compose service sets its own command; by default show one tool's usage.
CMD ["sg-raw-store", "--help"]

# syntax=docker/dockerfile:1
# urna's container: the server and the web UI's site built together with the
# same pinned tools as the README (Rust 1.95, Cargo.lock, wasm-bindgen-cli at
# Cargo.lock's wasm-bindgen, wasm-opt from npm's binaryen), cached by
# cargo-chef, run as a non-root user on slim Debian. Checked without a Docker
# engine by scripts/check-deploy.sh.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

# The dependency recipe changes only when manifests do.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ENV CARGO_TARGET_DIR=/src/target
# Node runs binaryen's wasm-opt; Debian's binaryen breaks hydration.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add wasm32-unknown-unknown
# The site's tools change only with Cargo.lock and e2e/package-lock.json.
COPY Cargo.lock ./
COPY scripts/build-site.sh scripts/
COPY e2e/package.json e2e/package-lock.json e2e/
RUN bash scripts/build-site.sh --tools-only
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --package app
COPY . .
RUN cargo build --release --locked --package app && bash scripts/build-site.sh site
RUN install -m 0755 target/release/urna /usr/local/bin/urna

FROM debian:bookworm-slim AS runtime
# ca-certificates follows the base image's Debian release; a pinned version
# would break with the next point release of bookworm.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /app urna \
 && mkdir -p /app/data \
 && chown urna:urna /app/data
COPY --from=builder /usr/local/bin/urna /usr/local/bin/urna
COPY --from=builder /src/site /app/site
USER 10001
WORKDIR /app
ENV URNA_BIND=0.0.0.0:8080 \
    URNA_DATA_DIR=/app/data \
    URNA_SITE_ROOT=/app/site \
    RUST_LOG=info
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/urna"]
CMD ["serve"]

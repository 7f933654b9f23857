# sessionlab in a container: a release build, then a small non-root runtime image.
# Templates, lesson texts, CSS and scripts are compiled into the binary; config/ is copied beside it.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Cargo reads every target the manifest declares, the [[bench]] ones too, even to build only
# the binary; .dockerignore keeps the benchmark peers and the Django site out.
COPY benches ./benches
COPY src ./src
COPY templates ./templates
COPY lessons ./lessons
COPY static ./static
COPY config ./config
RUN cargo build --release --locked --bin sessionlab

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin sessionlab \
    && mkdir -p /app/config /data \
    && chown sessionlab /data
COPY --from=build /src/target/release/sessionlab /app/sessionlab
COPY config /app/config
ENV APP_CONFIG_DIR=/app/config \
    APP_PROFILE=docker \
    RUST_LOG=info
USER sessionlab
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/app/sessionlab", "healthcheck"]
ENTRYPOINT ["/app/sessionlab"]
CMD ["serve"]

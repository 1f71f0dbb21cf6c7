# hushd, hush and hush-gateway in one image. Build: docker build -t hush .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p hushd -p hush-cli -p hush-gateway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 hush
COPY --from=build /src/target/release/hushd /src/target/release/hush /src/target/release/hush-gateway /usr/local/bin/
USER hush
ENTRYPOINT ["hushd"]
CMD ["--config", "/etc/hush/hush.toml"]

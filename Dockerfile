# syntax=docker/dockerfile:1
# Multi-stage build: a static uss-server on a minimal base image.
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
# No `go mod download`: it would fetch every module in go.mod, the test-only ones too
# (testcontainers and its Docker client). `go build` fetches only what uss-server imports.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /uss-server ./cmd/uss-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /uss-server /uss-server
ENV USS_LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot
# The image has no shell and no curl: the binary probes its own /readyz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/uss-server", "healthcheck"]
ENTRYPOINT ["/uss-server"]
CMD ["serve"]

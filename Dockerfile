# Multi-stage build: a static uss-server on a minimal base image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /uss-server ./cmd/uss-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /uss-server /uss-server
ENV USS_LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/uss-server"]
CMD ["serve"]

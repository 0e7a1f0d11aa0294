# The autopilot action image: a static binary on distroless with CA
# certificates, running as root (Actions mounts the workspace owned by the
# runner), with no WORKDIR so the runner's --workdir applies.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/autopilot ./cmd/autopilot

FROM gcr.io/distroless/static-debian12:latest
COPY --from=build /out/autopilot /usr/local/bin/autopilot
ENTRYPOINT ["/usr/local/bin/autopilot", "action"]

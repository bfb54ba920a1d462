# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --always) -t bridge .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bridge ./cmd/bridge \
 && /out/bridge rules check rules.yaml

# distroless/static: CA certificates and tzdata, no shell, runs as nonroot.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridge /bridge
# The shipped rules; mount your own over /etc/bridge/rules.yaml (or set BRIDGE_RULES_FILE).
COPY --from=build /src/rules.yaml /etc/bridge/rules.yaml
ENV BRIDGE_RULES_FILE=/etc/bridge/rules.yaml BRIDGE_ADDR=:8080
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=4s --start-period=5s --retries=3 CMD ["/bridge", "healthcheck"]
ENTRYPOINT ["/bridge"]
CMD ["serve"]

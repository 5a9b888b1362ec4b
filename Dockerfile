# syntax=docker/dockerfile:1

# natsock's image: a static binary (no cgo) on distroless/static, which has
# CA certificates and time zones and nothing else (no shell, no curl), run
# as an unprivileged user. Build it from the repository's root:
#
#   docker build -t natsock .
#   docker run --rm -p 3000:3000 natsock serve --map 'tasks.*=task:{2}' --cors-origin '*'
#
# The build context keeps .git (see .dockerignore) so that go build stamps
# the commit: `docker run --rm natsock version` says what the image holds.

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
# The modules first, in a layer of their own that a source change keeps.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
# -trimpath drops the build machine's paths; -buildvcs=true stamps the
# commit, its time and whether the tree was modified (natsock version);
# -s -w drop the symbol tables, not the build information.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=true -ldflags='-s -w' -o /out/natsock ./cmd/natsock

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/natsock /usr/local/bin/natsock
# distroless's nonroot user, by number, so that Kubernetes' runAsNonRoot
# can check it.
USER 65532:65532
# natsock health, in the health check below, reads the same address.
ENV NATSOCK_LISTEN=:3000
EXPOSE 3000
# Ready: NATS connected and every subscription registered (/readyz). The
# image has no curl: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/natsock", "health"]
# SIGTERM (docker stop) starts natsock's graceful shutdown; give docker
# stop more than --shutdown-timeout (10s by default): docker stop -t 15.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/natsock"]
CMD ["serve"]

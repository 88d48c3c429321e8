# image-credential-provider
#
#   make build                     static binaries of every program under cmd/ into bin/
#   make test                      go test ./...
#   make release VERSION=v1.2.3    dist/: archives, OCI image, SHA256SUMS (reproducible)
#   make notices                   regenerate THIRD_PARTY_NOTICES after a dependency change
#
# A release is built from a clean checkout of a commit: the commit and its time (never the
# wall clock) go into the binaries, the archives and the image, so two release builds of
# one commit with the same Go release are byte for byte identical (test/release.sh checks).

GO ?= go
MODULE := github.com/imagecred/image-credential-provider

# Release platforms, GOOS/GOARCH. A windows/amd64 entry gets .exe binaries in its archive
# (the image stays Linux only). THIRD_PARTY_NOTICES must cover each (hack/notices).
PLATFORMS ?= linux/amd64 linux/arm64 windows/amd64

# The image repository the OCI tarball imports as (tag: VERSION).
IMAGE ?= ghcr.io/imagecred/image-credential-provider

# The release version; for `make build`, only if given.
VERSION ?=

# Where the release goes (replaced whole); test/e2e builds one into its run directory.
DIST ?= dist

COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
DATE := $(shell TZ=UTC0 git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)

VERSION_PKG := $(MODULE)/internal/version
RELEASE_LDFLAGS := -s -w -buildid= -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(DATE)

# Everything that may change a binary is fixed here rather than taken from the caller's
# environment (GOFLAGS could carry -tags or -race, GOAMD64 a newer instruction set).
GOENV := CGO_ENABLED=0 GOFLAGS=-mod=readonly GOAMD64=v1 GOARM64=v8.0 GOFIPS140=off GOEXPERIMENT=

.PHONY: build test release notices check-notices clean

# Development build for this machine: the toolchain stamps the commit (and whether the
# tree was modified) into each binary; the version only when VERSION is given.
build:
	$(GOENV) $(GO) build -trimpath -buildvcs=auto \
		-ldflags '$(if $(VERSION),-X $(VERSION_PKG).version=$(VERSION))' -o bin/ ./cmd/...

test:
	$(GO) test ./...

notices:
	$(GO) run ./hack/notices

check-notices:
	$(GO) run ./hack/notices -check

release:
	@test -n "$(VERSION)" || { echo 'make release: set VERSION, e.g. make release VERSION=v1.2.3' >&2; exit 2; }
	@test -n "$(COMMIT)" || { echo 'make release: not in a git checkout' >&2; exit 2; }
	@if [ -n "$$(git status --porcelain)" ]; then \
		if [ "$(ALLOW_DIRTY)" = 1 ]; then echo 'make release: WARNING: uncommitted changes are built but the release names commit $(COMMIT)' >&2; \
		else echo 'make release: the checkout has uncommitted changes (git status); commit them, or ALLOW_DIRTY=1 for a trial build' >&2; exit 2; fi; \
	fi
	$(GO) run ./hack/notices -check
	rm -rf '$(DIST)'
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "go build $$os/$$arch"; \
		$(GOENV) GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=false \
			-ldflags '$(RELEASE_LDFLAGS)' -o '$(DIST)'/bin/$${os}_$${arch}/ ./cmd/...; \
	done
	$(GO) run ./hack/release -version '$(VERSION)' -commit '$(COMMIT)' -date '$(DATE)' \
		-platforms '$(PLATFORMS)' -image '$(IMAGE)' -dist '$(DIST)'

clean:
	rm -rf bin dist

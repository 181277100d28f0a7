# AppReg Portal. `make run` for a first look, `make test` to run every test.
GO        ?= go
BIN       := bin/portal
PKGS      := ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tests share 2 cores with a Postgres cluster per package; a generous timeout
# covers the first cold build of msgraph-sdk-go (~3 min).
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: run test generate lint bench build check-generated check-tidy deps clean

run: build ## serve the portal with everything embedded on http://127.0.0.1:8080
	@scripts/ensure-deps.sh
	./$(BIN) dev

build: ## build the portal binary into bin/
	@echo "Building $(BIN): the first build takes about 3 minutes on 2 cores (Microsoft's Graph SDK is large); later ones take seconds."
	$(GO) build -trimpath -o $(BIN) ./cmd/portal

test: ## run every test against real Postgres, the emulator and Chromium
	@scripts/ensure-deps.sh
	$(GO) test $(TESTFLAGS) $(PKGS)

generate: ## regenerate templ components
	$(GO) tool templ generate -path web/templates

check-generated: ## fail if generated code is not up to date with its sources
	@$(GO) tool templ generate -path web/templates >/dev/null 2>&1
	@git diff --exit-code --stat -- web/templates || { echo "generated *_templ.go files are stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- web/templates | grep '^??')" || { echo "untracked generated files in web/templates: run 'make generate' and commit"; exit 1; }

check-tidy: ## fail if `go mod tidy` would change go.mod or go.sum
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; exit 1; }

lint: ## gofmt, go vet, staticcheck
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$fmt" || { echo "not gofmt'ed:"; echo "$$fmt"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

bench: ## benchmarks; they print their figures
	@scripts/ensure-deps.sh
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

clean:
	rm -rf bin

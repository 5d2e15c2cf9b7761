# Thin wrapper over CMake. `make run` and `make test` work from a fresh clone
# on a fresh Debian 12 machine: scripts/deps.sh installs what is missing.
BUILD_ROOT ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DPP_WERROR=ON
endif
ARGS ?=

.PHONY: all deps release debug run test bench fleet format format-check clean install

all: release

deps:
	@bash scripts/deps.sh

release: deps
	cmake -S . -B $(BUILD_ROOT)/release -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD_ROOT)/release -j $(JOBS)

debug: deps
	cmake -S . -B $(BUILD_ROOT)/debug -G Ninja -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(BUILD_ROOT)/debug -j $(JOBS)

run: release
	./$(BUILD_ROOT)/release/cli/postprof run $(ARGS)

test: deps
	bash scripts/test.sh

# N nodes sharing a redis-server, Prometheus, federation, Alertmanager (docs/fleet.md)
N ?= 3
fleet: release
	POSTPROF=./$(BUILD_ROOT)/release/cli/postprof bash scripts/fleet.sh $(N)

bench: release
	bash scripts/bench.sh $(BUILD_ROOT)/release

format:
	bash scripts/format.sh fix

format-check:
	bash scripts/format.sh check

clean:
	rm -rf $(BUILD_ROOT)

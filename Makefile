# Lambda artifacts. `sam build` (BuildMethod: makefile) calls `make build-<LogicalId>`
# with ARTIFACTS_DIR set; every target shares one cargo build of the workspace's
# function binaries, so the workspace compiles once, not once per function.
#
#   make lambda                          # x86_64 (the only target installed here)
#   make lambda ARCH=arm64               # needs the aarch64-unknown-linux-gnu target and
#                                        # a cross linker, or use cargo-lambda (see README)
#   make lambda PROFILE=dev SELECT="--workspace --all-targets"
#                                        # what CI checks: the function binaries built
#                                        # inside the test build's own cargo invocation,
#                                        # so nothing compiles twice
#
# On an x86_64 host the x86_64 build goes to target/<profile> (or $CARGO_TARGET_DIR),
# shared with `cargo build --release`; other architectures go to target/<triple>/<profile>.
ARCH ?= x86_64
PROFILE ?= release
HOST_ARCH := $(shell uname -m)
CARGO_TARGET := $(if $(filter arm64,$(ARCH)),aarch64-unknown-linux-gnu,x86_64-unknown-linux-gnu)
TARGET_FLAG := $(if $(filter $(ARCH),$(HOST_ARCH)),,--target $(CARGO_TARGET))
PROFILE_DIR := $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
TARGET_ROOT := $(or $(CARGO_TARGET_DIR),target)
RELEASE_DIR := $(if $(TARGET_FLAG),$(TARGET_ROOT)/$(CARGO_TARGET),$(TARGET_ROOT))/$(PROFILE_DIR)
BINARIES := mcflow-worker-lambda mcflow-orchestrator-lambda mcflow-reducer-lambda mcflow-pretraffic-lambda
# The packages and binaries cargo builds: by default only the four functions (their own,
# narrower feature set). With the workspace's test selection, the build is the test
# build's, whose dev-dependencies (proptest, criterion) add a few features to shared
# crates (rand, getrandom, either, num-traits, regex, uuid).
SELECT ?= -p worker -p orchestrator $(addprefix --bin ,$(BINARIES))

.PHONY: lambda build-WorkerFunction build-OrchestratorFunction build-ReducerFunction build-PreTrafficHookFunction \
  build-PostTrafficHookFunction

lambda:
	cargo build --profile $(PROFILE) --locked $(TARGET_FLAG) $(SELECT)

define copy_bootstrap
	mkdir -p $(ARTIFACTS_DIR)
	cp $(RELEASE_DIR)/$(1) $(ARTIFACTS_DIR)/bootstrap
endef

build-WorkerFunction: lambda
	$(call copy_bootstrap,mcflow-worker-lambda)

build-OrchestratorFunction: lambda
	$(call copy_bootstrap,mcflow-orchestrator-lambda)

build-ReducerFunction: lambda
	$(call copy_bootstrap,mcflow-reducer-lambda)

build-PreTrafficHookFunction: lambda
	$(call copy_bootstrap,mcflow-pretraffic-lambda)

# The post-traffic hook is the pre-traffic hook's binary (MCFLOW_HOOK_STAGE=post).
build-PostTrafficHookFunction: lambda
	$(call copy_bootstrap,mcflow-pretraffic-lambda)

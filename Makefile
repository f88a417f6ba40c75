# ngx_http_comment_moderation_module
#
#   make            build the dynamic module (build/ngx_http_comment_moderation_module.so)
#                   against the installed nginx, and the engine tools (build/cm-check)
#   make install    copy the module into nginx's modules path
#   make test       install what is missing, build, run every test
#   make browser    the review page's tests in headless chromium (tests/browser/)
#   make demo       install what is missing, build, run the demo news site
#   make bench      install what is missing, build, print the benchmark table
#   make chaos      the fault-injection ledger, long form (make test runs a
#                   short one): CM_CHAOS_SECONDS=180 by default
#   make reload-loop  HUP under load, fds and memory measured, long form
#                   (make test runs 15): CM_RELOAD_LOOPS=200 by default
#   make deb        the Debian package libnginx-mod-http-comment-moderation
#                   (debian/, built with debhelper into build/deb/)
#
# NGINX_SRC=/path/to/nginx-x.y.z make   builds against a self-compiled nginx
# (configured with the same ./configure arguments as that nginx binary).

SHELL      := /bin/bash
BUILD      := $(CURDIR)/build
NGINX_SRC  ?= /usr/share/nginx/src
NGINX_BIN  ?= $(shell command -v nginx || echo /usr/sbin/nginx)
MODULE     := $(BUILD)/ngx_http_comment_moderation_module.so
MODULES_PATH ?= $(shell $(NGINX_BIN) -V 2>&1 | sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p')

# nginx-facing sources (they include the module's nginx header), built only
# inside nginx's tree
NGINX_SRCS := $(shell grep -l '^\#include "ngx_http_comment_moderation.h"' ngx_module/*.c)
# the engine: plain C, also built alone for tools, unit tests and fuzzing
ENGINE_SRCS := $(filter-out $(NGINX_SRCS), $(wildcard ngx_module/*.c))
HEADERS    := $(wildcard ngx_module/*.h)

CC         ?= cc
CLANG      ?= clang
WARN       := -Wall -Wextra -Werror
ENGINE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O2 $(WARN) -Ingx_module
ENGINE_LIBS := -lpcre2-8
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 8

# nginx's --with-cc-opt/--with-ld-opt (Debian's hardening flags); debian/rules
# passes dpkg-buildflags' instead, and TOOLS_* for cm-check
NGINX_CC_OPT ?= -g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 -Wextra
NGINX_LD_OPT ?= -Wl,-z,relro -Wl,-z,now -fPIC
TOOLS_CFLAGS ?=
TOOLS_LDFLAGS ?=

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS    := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.SECONDARY:

.PHONY: all module tools install deps test unit unit-asan fuzz-smoke fuzz integration \
        demo eval bench bench-engine clean browser deb deb-test valgrind chaos \
        reload-loop

all: module tools

deps:
	@scripts/install-deps

# --- the nginx module ------------------------------------------------------

# nginx's configure lists the module's files: configure again when they change
SOURCES_LIST := $(BUILD)/sources.list
$(shell mkdir -p $(BUILD); echo "$(sort $(NGINX_SRCS) $(ENGINE_SRCS) $(HEADERS))" | \
        cmp -s - $(SOURCES_LIST) 2>/dev/null || \
        echo "$(sort $(NGINX_SRCS) $(ENGINE_SRCS) $(HEADERS))" > $(SOURCES_LIST))

$(BUILD)/nginx/Makefile: config $(SOURCES_LIST)
	@mkdir -p $(BUILD)
	rm -rf $(BUILD)/nginx
	cp -r $(NGINX_SRC) $(BUILD)/nginx
	@echo "  CONFIGURE nginx $(NGINX_SRC) (log: build/configure.log)"
	@cd $(BUILD)/nginx && \
	  if [ -f conf_flags ]; then . ./conf_flags; else NGX_CONF_FLAGS=(); fi; \
	  ./configure "$${NGX_CONF_FLAGS[@]}" $(NGINX_CONFIGURE_ARGS) \
	    --with-cc-opt='$(NGINX_CC_OPT)' \
	    --with-ld-opt='$(NGINX_LD_OPT)' \
	    --add-dynamic-module=$(CURDIR) >$(BUILD)/configure.log 2>&1 \
	  || { tail -n 20 $(BUILD)/configure.log; exit 1; }

module: $(MODULE)

# the Redis scripts travel inside the module as C strings
ngx_module/ngx_http_comment_moderation_lua.h: $(wildcard ngx_module/lua/*.lua) scripts/gen-lua-header
	scripts/gen-lua-header

# so does the review page (the admin location serves it from memory)
ngx_module/ngx_http_comment_moderation_admin_page.h: $(wildcard ngx_module/admin/*) scripts/gen-admin-header
	scripts/gen-admin-header

$(MODULE): $(BUILD)/nginx/Makefile $(NGINX_SRCS) $(ENGINE_SRCS) $(HEADERS)
	@echo "  MODULE  $@ (log: build/module.log)"
	@$(MAKE) -C $(BUILD)/nginx -f objs/Makefile modules >$(BUILD)/module.log 2>&1 \
	  || { grep -E 'error|warning' $(BUILD)/module.log | head -n 30; exit 1; }
	@# a new inode: nginx processes that loaded the old file keep it intact
	@cp $(BUILD)/nginx/objs/ngx_http_comment_moderation_module.so $@.tmp && mv $@.tmp $@

install: $(MODULE)
	install -d $(DESTDIR)$(MODULES_PATH)
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULES_PATH)/
	@echo "add to the top of nginx.conf:"
	@echo "    load_module $(MODULES_PATH)/ngx_http_comment_moderation_module.so;"

# --- the engine alone: tools, unit tests, fuzzers --------------------------

ENGINE_OBJS := $(patsubst ngx_module/%.c,$(BUILD)/engine/%.o,$(ENGINE_SRCS))
ASAN_OBJS   := $(patsubst ngx_module/%.c,$(BUILD)/asan/%.o,$(ENGINE_SRCS))

$(BUILD)/engine/%.o: ngx_module/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ENGINE_CFLAGS) $(TOOLS_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: ngx_module/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	@$(CLANG) $(ENGINE_CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

tools: $(BUILD)/cm-check

$(BUILD)/cm-check: scripts/cm-check.c $(ENGINE_OBJS)
	$(CC) $(ENGINE_CFLAGS) $(TOOLS_CFLAGS) $^ -o $@ $(TOOLS_LDFLAGS) $(ENGINE_LIBS)

$(BUILD)/unit/%: tests/unit/%.c tests/unit/cm_test.h $(ENGINE_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(ENGINE_CFLAGS) -Itests/unit $< $(ENGINE_OBJS) -o $@ $(ENGINE_LIBS) -lcmocka

$(BUILD)/unit-asan/%: tests/unit/%.c tests/unit/cm_test.h $(ASAN_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CLANG) $(ENGINE_CFLAGS) -O1 $(SAN_FLAGS) -Itests/unit $< $(ASAN_OBJS) -o $@ $(ENGINE_LIBS) -lcmocka

$(BUILD)/fuzz/%: tests/fuzz/%.c $(ENGINE_SRCS) $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  FUZZER  $@"
	@$(CLANG) $(ENGINE_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $< $(ENGINE_SRCS) -o $@ $(ENGINE_LIBS)

unit: $(addprefix $(BUILD)/unit/,$(UNIT_TESTS))
	@scripts/run-unit-tests $(BUILD)/unit $(UNIT_TESTS)

unit-asan: $(addprefix $(BUILD)/unit-asan/,$(UNIT_TESTS))
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  scripts/run-unit-tests $(BUILD)/unit-asan $(UNIT_TESTS)

# every fuzzer for FUZZ_SECONDS each, from the seed corpus in the repo
fuzz-smoke: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
	@scripts/run-fuzzers $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZERS)

# the campaign: 10 minutes each, new coverage merged into tests/fuzz/corpus
fuzz: FUZZ_SECONDS = 600
fuzz: export FUZZ_MERGE = 1
fuzz: fuzz-smoke

integration: $(MODULE)
	CM_MODULE=$(MODULE) CM_NGINX=$(NGINX_BIN) prove -I tests/lib tests/integration/

# the review page in headless chromium: against a stand-in of the admin API,
# then on the demo (nginx with the module, Redis, backend) on free ports
browser: $(MODULE)
	@tests/browser/run

test: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-all-tests

# comments under faults (Redis killed and paused, nginx reloaded and
# restarted, the backend down), then a ledger of every one; the same test
# runs for 35 s inside make test's integration stage
CM_CHAOS_SECONDS ?= 180

chaos: deps
	@$(MAKE) --no-print-directory module
	CM_MODULE=$(MODULE) CM_NGINX=$(NGINX_BIN) CM_CHAOS_SECONDS=$(CM_CHAOS_SECONDS) \
	  prove -v -I tests/lib tests/integration/21-chaos-ledger.t

# HUP again and again under comments, moderation and metrics: fds, RSS,
# Redis connections and the old workers' exit before and after; make test
# runs 15 reloads
CM_RELOAD_LOOPS ?= 200

reload-loop: deps
	@$(MAKE) --no-print-directory module
	CM_MODULE=$(MODULE) CM_NGINX=$(NGINX_BIN) CM_RELOAD_LOOPS=$(CM_RELOAD_LOOPS) \
	  prove -v -I tests/lib tests/integration/24-reload-loop.t

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

clean:
	rm -rf $(BUILD)

# --- the Debian package ----------------------------------------------------

# dpkg-buildpackage on a copy of the tree in build/deb/src (it writes the
# .deb beside the source, and its clean must not touch build/)
deb:
	@scripts/install-deps build deb
	@scripts/build-deb $(BUILD)/deb

# installs the .deb on this machine, runs nginx -t with the example, removes it
deb-test: deb
	@tests/deb/run $(BUILD)/deb

# the shipped rules on the labeled sets in ../shared/data/ (issue 3's targets)
eval: tools
	@scripts/eval-all

# every integration test with nginx under valgrind's memcheck (a few minutes)
valgrind: module tools
	@tests/valgrind/run

# the module against plain nginx and ModSecurity+CRS, in one run (README:
# make bench); then the engine alone
bench:
	@scripts/install-deps build test bench
	@$(MAKE) --no-print-directory all
	@tests/bench/http-bench
	@$(MAKE) --no-print-directory bench-engine

# the engine alone: default.rules and 50/500/5,000 generated rules, next to
# Vectorscan (libvectorscan-dev, only here) on the same word lists
BENCH_ENGINE_SRCS := tests/bench/engine/cm_bench_engine.c
BENCH_ENGINE_LIBS := $(ENGINE_LIBS)
ifneq ($(wildcard /usr/include/hs/hs.h),)
BENCH_ENGINE_SRCS += tests/bench/engine/cm_bench_vectorscan.c
BENCH_ENGINE_LIBS += -lhs
BENCH_ENGINE_FLAGS := -DCM_BENCH_VECTORSCAN
endif

$(BUILD)/cm-bench-engine: $(BENCH_ENGINE_SRCS) tests/bench/engine/cm_bench.h $(ENGINE_OBJS)
	@echo "  LINK    $@"
	@$(CC) $(ENGINE_CFLAGS) $(BENCH_ENGINE_FLAGS) -Itests/bench/engine $(filter-out %.h,$^) -o $@ $(BENCH_ENGINE_LIBS)

bench-engine: $(BUILD)/cm-bench-engine
	@tests/bench/engine-bench

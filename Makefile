# complaintd - build, test and install
#
#   make run      install what is missing, build, start complaintd here
#                 (ARGS="-o roles/agent=NAME" passes options to it)
#   make check    install what is missing, build, run every test
#   make bench    print throughput and latency figures
#
# Plain GNU make. Every install path is $(DESTDIR)$(...).

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PKG_CONFIG ?= pkg-config
UNITDIR    ?= $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)

# Build directory: a sanitizer build lives beside the normal one
BUILD      ?= build

# Debian 12 packages the build needs, and those the tests need on top
DEB_BUILD  = gcc make pkg-config libczmq-dev libzmq3-dev liblmdb-dev \
             libmsgpack-dev libjansson-dev libsystemd-dev \
             libyaml-dev libpcre2-dev libicu-dev libjemalloc-dev
DEB_TEST   = clang clang-format python3 python3-zmq python3-msgpack systemd valgrind

# libcomplaint (the codec and the client, LIB_OBJ) links only LIB_PKGS, as
# client/libcomplaint.pc.in says; the daemon, its self tests and the bench
# link every package of PKGS
LIB_PKGS   = libczmq libzmq msgpack jansson
PKGS       = $(LIB_PKGS) lmdb yaml-0.1 libpcre2-8 icu-i18n

# libsystemd: auto (use it when pkg-config finds it), yes, or no
USE_SYSTEMD ?= auto
ifeq ($(USE_SYSTEMD),auto)
  HAVE_SYSTEMD := $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo yes)
else
  HAVE_SYSTEMD := $(filter yes,$(USE_SYSTEMD))
endif
ifeq ($(HAVE_SYSTEMD),yes)
  PKGS += libsystemd
  SD_CPPFLAGS = -DHAVE_LIBSYSTEMD
endif

# The daemon's allocator: jemalloc, or system (glibc's). The event loop
# allocates each request and the writer thread frees and reallocates its
# fields; glibc's per-thread arenas take a lock for every such free, and
# the daemon acknowledges far fewer complaints per second with them (see
# README, Performance). Sanitizer builds use system: they own malloc.
MALLOC   ?= jemalloc
ifeq ($(MALLOC),jemalloc)
  MALLOC_LIBS = $(shell $(PKG_CONFIG) --libs jemalloc 2>/dev/null || echo -ljemalloc)
else ifneq ($(MALLOC),system)
  $(error MALLOC=$(MALLOC): use jemalloc or system)
endif

CFLAGS   ?= -O2 -g
WERROR   ?= 1
WARNINGS  = -std=c99 -Wall -Wextra -Wstrict-prototypes
ifeq ($(WERROR),1)
  WARNINGS += -Werror
endif
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LIB_LIBS   = $(shell $(PKG_CONFIG) --libs $(LIB_PKGS) 2>/dev/null)
ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude -Idaemon $(SD_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(WARNINGS) -fPIC $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(LDFLAGS)

LIB_SRC    = proto/cmp_proto.c client/cmp_client.c client/cmp_subscriber.c
DAEMON_SRC = daemon/cmp_clock.c daemon/cmp_store.c daemon/cmp_config.c daemon/cmp_yaml.c \
             daemon/cmp_calendar.c daemon/cmp_triage.c daemon/cmp_sla.c \
             daemon/cmp_rulebook.c \
             daemon/cmp_intake.c daemon/cmp_case.c \
             daemon/cmp_sd.c daemon/cmp_writer.c daemon/cmp_server.c
LIB_OBJ    = $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ = $(DAEMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/daemon/cmp_shipped.o
# The rules, deadline policies and calendars built into the daemon, as C strings
SHIPPED    = daemon/triage.yaml daemon/calendars.yaml daemon/sla.yaml

SONAME     = libcomplaint.so.0
PROGRAMS   = $(BUILD)/complaintd $(BUILD)/complaintctl $(BUILD)/cmp_selftest \
             $(BUILD)/libcomplaint.a $(BUILD)/$(SONAME)

.PHONY: all build deps deps-test run check check-asan selftest integration \
        check-config-doc check-actions-doc check-clang bench memcheck install \
        uninstall clean format format-check

all: deps
	@$(MAKE) --no-print-directory build

build: $(PROGRAMS)

# Install the Debian packages that are missing (needs root or sudo once)
define install_missing
	@if command -v dpkg-query >/dev/null 2>&1; then \
	    missing=""; \
	    for package in $(1); do \
	        dpkg-query -W -f='$${Status}\n' $$package 2>/dev/null \
	            | grep -q "install ok installed" || missing="$$missing $$package"; \
	    done; \
	    if [ -n "$$missing" ]; then \
	        echo "installing:$$missing"; \
	        if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	        $$sudo apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	            --no-install-recommends $$missing; \
	    fi; \
	else \
	    echo "not a Debian system: install the equivalents of: $(1)"; \
	fi
endef

deps:
	$(call install_missing,$(DEB_BUILD))

deps-test: deps
	$(call install_missing,$(DEB_TEST))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcomplaint.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/$(SONAME): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(LIB_LIBS)
	ln -sf $(SONAME) $(BUILD)/libcomplaint.so

$(BUILD)/complaintd: $(BUILD)/daemon/main.o $(DAEMON_OBJ) $(BUILD)/libcomplaint.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(PKG_LIBS) $(MALLOC_LIBS)

$(BUILD)/complaintctl: $(BUILD)/client/complaintctl.o $(BUILD)/libcomplaint.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(LIB_LIBS)

$(BUILD)/cmp_selftest: $(BUILD)/tests/cmp_selftest.o $(DAEMON_OBJ) $(BUILD)/libcomplaint.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(PKG_LIBS)

$(BUILD)/complaint_bench: $(BUILD)/tests/complaint_bench.o $(DAEMON_OBJ) $(BUILD)/libcomplaint.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(PKG_LIBS)

# Disk-fault injection for the fail-stop test (LD_PRELOAD), built without
# sanitizers so that it can be preloaded into any build
$(BUILD)/libcmp_fault.so: tests/cmp_fault.c
	@mkdir -p $(BUILD)
	$(CC) -D_GNU_SOURCE $(WARNINGS) -O2 -fPIC -shared $< -o $@ -ldl

$(BUILD)/daemon/cmp_shipped.c: $(SHIPPED) Makefile
	@mkdir -p $(dir $@)
	@{ echo "/* Generated from $(SHIPPED) by make: do not edit */"; \
	  echo "extern const char cmp_shipped_triage[], cmp_shipped_calendars[],"; \
	  echo "  cmp_shipped_sla[];"; \
	  echo "const char cmp_shipped_triage[] = {"; \
	  od -An -v -tx1 daemon/triage.yaml | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo "0};"; \
	  echo "const char cmp_shipped_calendars[] = {"; \
	  od -An -v -tx1 daemon/calendars.yaml | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo "0};"; \
	  echo "const char cmp_shipped_sla[] = {"; \
	  od -An -v -tx1 daemon/sla.yaml | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo "0};"; } > $@

$(BUILD)/daemon/cmp_shipped.o: $(BUILD)/daemon/cmp_shipped.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Start the daemon in the foreground on its embedded defaults: the store in
# ./complaintd-data, endpoints on 127.0.0.1:7470-7472
run: all
	./$(BUILD)/complaintd $(ARGS)

# ---------------------------------------------------------------------------
# Tests

check: deps-test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory selftest integration check-config-doc \
	    check-actions-doc format-check
	@$(MAKE) --no-print-directory check-clang
	@$(MAKE) --no-print-directory check-asan

selftest: $(BUILD)/cmp_selftest
	@mkdir -p tests/selftest-rw
	./$(BUILD)/cmp_selftest
	@test -z "$$(ls -A tests/selftest-rw)" || \
	    { echo "tests/selftest-rw is not empty:"; ls -A tests/selftest-rw; exit 1; }

integration: $(BUILD)/complaintd $(BUILD)/complaintctl $(BUILD)/libcmp_fault.so
	COMPLAINTD_BUILD=$(BUILD) /usr/bin/python3 tests/integration/run.py

check-config-doc: $(BUILD)/complaintd
	sh tests/check-config-doc.sh $(BUILD)/complaintd

# The transition table of proto/PROTOCOL.md is the one the code prints
check-actions-doc: $(BUILD)/complaintd
	BUILD=$(BUILD) sh tests/check-actions-doc.sh

# The same sources under clang, warnings fatal (build only)
check-clang:
	@$(MAKE) --no-print-directory build CC=clang BUILD=build-clang

# Self tests and integration tests under AddressSanitizer and UBSan
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
check-asan:
	@$(MAKE) --no-print-directory build BUILD=build-asan CFLAGS="$(SAN_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" MALLOC=system
	@$(MAKE) --no-print-directory selftest integration BUILD=build-asan \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

memcheck: deps-test
	@$(MAKE) --no-print-directory build $(BUILD)/libcmp_fault.so
	@mkdir -p tests/selftest-rw
	COMPLAINTD_TRIAGE_JIT=false \
	    valgrind --leak-check=full --error-exitcode=1 -q ./$(BUILD)/cmp_selftest
	COMPLAINTD_BUILD=$(BUILD) COMPLAINTD_OPTIONS="-o triage/jit=false" \
	COMPLAINTD_WRAPPER="valgrind --leak-check=full --error-exitcode=1 -q --soname-synonyms=somalloc=*jemalloc*" \
	    /usr/bin/python3 tests/integration/run.py

bench: all $(BUILD)/complaint_bench
	COMPLAINTD_BUILD=$(BUILD) ./$(BUILD)/complaint_bench

# ---------------------------------------------------------------------------
# Install

# The configuration, and copies of the shipped triage rules and calendars to
# edit, go to $(SYSCONFDIR)/complaintd only where there are none yet; the
# installed configuration's comments name their installed paths
install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/complaintd $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/complaintd $(DESTDIR)$(SBINDIR)/complaintd
	install -m 755 $(BUILD)/complaintctl $(DESTDIR)$(BINDIR)/complaintctl
	install -m 644 $(BUILD)/libcomplaint.a $(DESTDIR)$(LIBDIR)/libcomplaint.a
	install -m 755 $(BUILD)/$(SONAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libcomplaint.so
	install -m 644 include/complaint.h include/cmp_proto.h include/cmp_client.h \
	    include/cmp_subscriber.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' client/libcomplaint.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/libcomplaint.pc
	test -e $(DESTDIR)$(SYSCONFDIR)/complaintd/complaintd.conf || { \
	    sed -e 's|/etc/complaintd/|$(SYSCONFDIR)/complaintd/|g' complaintd.conf \
	        > $(DESTDIR)$(SYSCONFDIR)/complaintd/complaintd.conf && \
	    chmod 644 $(DESTDIR)$(SYSCONFDIR)/complaintd/complaintd.conf; }
	for file in triage.yaml sla.yaml calendars.yaml; do \
	    test -e $(DESTDIR)$(SYSCONFDIR)/complaintd/$$file || \
	        install -m 644 daemon/$$file $(DESTDIR)$(SYSCONFDIR)/complaintd/$$file || exit 1; \
	done
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    systemd/complaintd.service.in > $(DESTDIR)$(UNITDIR)/complaintd.service
	install -m 644 systemd/complaintd.socket $(DESTDIR)$(UNITDIR)/complaintd.socket

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/complaintd $(DESTDIR)$(BINDIR)/complaintctl \
	    $(DESTDIR)$(LIBDIR)/libcomplaint.a $(DESTDIR)$(LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(LIBDIR)/libcomplaint.so \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/libcomplaint.pc \
	    $(DESTDIR)$(INCLUDEDIR)/complaint.h $(DESTDIR)$(INCLUDEDIR)/cmp_proto.h \
	    $(DESTDIR)$(INCLUDEDIR)/cmp_client.h $(DESTDIR)$(INCLUDEDIR)/cmp_subscriber.h \
	    $(DESTDIR)$(UNITDIR)/complaintd.service $(DESTDIR)$(UNITDIR)/complaintd.socket

clean:
	rm -rf build build-asan build-clang

FORMAT_SRC = $(wildcard include/*.h proto/*.c client/*.c daemon/*.[ch] tests/*.c)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

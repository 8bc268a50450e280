# netbox_ssl: PGXS build of the PostgreSQL extension.
#   make && sudo make install      build and install into the server found by pg_config
#   make installcheck              pg_regress + isolation tests against a running server
# The C++ core's unit tests, fuzzers and benchmarks are built by CMakeLists.txt.

EXTENSION = netbox_ssl
MODULE_big = netbox_ssl
OBJS = \
	src/core/certificate.o \
	src/core/encoding.o \
	src/core/fast_x509.o \
	src/core/bundle_reader.o \
	src/core/csr.o \
	src/core/input.o \
	src/core/x509_text.o \
	src/core/netbox_format.o \
	src/core/netbox_text.o \
	src/pg/netbox_format.o \
	src/pg/module.o \
	src/pg/certificate_input.o \
	src/pg/janus.o \
	src/core/chain.o \
	src/pg/chain.o \
	src/pg/bundle.o \
	src/pg/csr.o \
	src/pg/boundary.o \
	src/pg/revocation.o \
	src/core/psl.o src/pg/psl.o \
	src/core/crl.o \
	src/core/ocsp.o
OBJS += src/pg/write_path.o
# The full install script of the current version is generated from one SQL
# source per concept (src/sql/concepts/, concatenated in file-name order), so
# CREATE EXTENSION runs one script. netbox_ssl--1.0.sql and the upgrade
# scripts stay for existing installations (and CREATE EXTENSION ... VERSION).
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" netbox_ssl.control)
CONCEPT_SQL := $(sort $(wildcard src/sql/concepts/*.sql))
DATA_built = netbox_ssl--$(EXTVERSION).sql
DATA = $(filter-out src/sql/netbox_ssl--$(EXTVERSION).sql,$(wildcard src/sql/netbox_ssl--*.sql))
PGFILEDESC = "netbox_ssl - TLS certificate inventory with atomic renewals"

REGRESS = parse parallel import janus errors bad_input transactions schema lifecycle privileges upgrade acme ownership observation outbox expiry_scan chain bundle csr authorities compliance ari host_lookup

REGRESS += sec_dos

REGRESS += sec_outbox

REGRESS += sec_history

REGRESS += sec_chain sec_keylog sec_schema

REGRESS += netbox_format

REGRESS += netbox_bridge

# 1.6 (one line per part, so that parallel branches merge)
REGRESS += speed_write_path
REGRESS += speed_parse
REGRESS += validate_cache
REGRESS += trust_rules
REGRESS += revocation

REGRESS_OPTS = --inputdir=test
ISOLATION = renew_race lifecycle_race observation_race outbox_claim outbox_subscribe anchor_load_race bundle_race compliance_race

ISOLATION += renew_delete_race

ISOLATION += netbox_race

ISOLATION += crl_renew_race

ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation

PG_CONFIG ?= pg_config
# PGXS adds -fPIC for C only; the module is linked by the C compiler, so the
# C++ runtime and libcrypto are named explicitly.
# PostgreSQL headers are not -Wextra clean in C++, so they are system headers.
PG_CXXFLAGS = -std=c++17 -fPIC -Wall -Wextra -Werror -I$(CURDIR)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
# libpsl: public suffixes for wildcard validity (chain rules, host lookup).
SHLIB_LINK = -lcrypto -lpsl -lstdc++
# Debian builds PostgreSQL with LLVM JIT, which would also compile every
# source to bitcode with clang; the extension gains nothing from inlining
# into JIT-compiled expressions, so bitcode is not built.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

netbox_ssl--$(EXTVERSION).sql: $(CONCEPT_SQL) netbox_ssl.control Makefile
	{ printf '%s\n' '-- netbox_ssl $(EXTVERSION): generated from src/sql/concepts/ by the Makefile; do not edit.' \
	    '\echo Use "CREATE EXTENSION netbox_ssl" to load this file. \quit'; \
	  for f in $(CONCEPT_SQL); do printf '\n-- ==== %s ====\n\n' "$$f"; cat "$$f"; done; } >$@.tmp
	mv $@.tmp $@

# PGXN release: make dist -> build/netbox_ssl-<META.json version>.zip, made
# with git archive from HEAD (commit first), with a netbox_ssl-<version>/ prefix.
DISTVERSION := $(shell sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' META.json | head -1)
.PHONY: dist
dist:
	mkdir -p build
	git archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ -o build/$(EXTENSION)-$(DISTVERSION).zip HEAD
	@echo "build/$(EXTENSION)-$(DISTVERSION).zip"

#!/usr/bin/env bash
# Regenerates test/unit/oracle.tsv: the fields `openssl x509` prints for every
# fixture certificate (test/fixtures/*.pem, *.der) and for the copied corpus
# subset (test/fixtures/corpus/<set>/*.pem), converted to netbox_ssl's output
# formats. The unit tests compare the core's parse results with these rows.
#
#   test/unit/make-oracle.sh                  # after test/fixtures/generate.sh
#   test/unit/make-oracle.sh --select-corpus  # also re-copy the corpus subset
#                                             # from $NETBOX_SSL_CORPUS
#                                             # (default /work/shared/corpus)
#
# Needs python3 (standard library only) and the openssl CLI. The committed
# oracle was made with OpenSSL 3.0.19; other versions may print some fields
# differently, so review the diff after regenerating.
set -euo pipefail
exec python3 "$(dirname "$0")/make_oracle.py" "$@"

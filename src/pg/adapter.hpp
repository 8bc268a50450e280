// Shared declarations of the PostgreSQL adapter. This directory is the only
// place that includes PostgreSQL headers; see
// docs/cpp-postgres-boundary.md for the rules followed here.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/timestamp.h"
}

// GUC values (module.cpp).
extern int netbox_ssl_max_input_bytes;
extern char* netbox_ssl_actor;
extern int netbox_ssl_expiry_critical_days;
extern int netbox_ssl_expiry_warning_days;

// Backend-local switches of the extension's own functions (module.cpp);
// no setting, cleared at transaction end and when the setting subtransaction
// aborts. SQL reaches them through ssl_internal_set (no EXECUTE for PUBLIC)
// and ssl_internal_get.
enum InternalSwitchSlot { kSwitchPurging = 0, kSwitchMatching = 1, kSwitchMoving = 2, kSwitchCount = 3 };
void internal_switch_set(InternalSwitchSlot slot, int64 value);
void internal_switch_clear(InternalSwitchSlot slot);

// A parsed certificate as plain palloc'd PostgreSQL values: what crosses from
// the C++ core into code that may ereport. Nullable fields are NULL pointers.
struct FlatCert {
    text* common_name;
    text* subject;
    text* issuer;
    text* serial_number;
    text* fingerprint_sha256;
    TimestampTz valid_from;
    TimestampTz valid_to;
    int nsans;
    text** sans;
    text* algorithm;
    bool has_key_size;
    int32 key_size;
    text* signature_algorithm;
    bool is_ca;
    text* subject_key_id;
    text* authority_key_id;
    text* spki_sha256;
    text* pem_content;
    text* issuer_chain;
    text* issuer_cn;   // 1.4
    text* issuer_org;  // 1.4
    text* tbs_sha256;  // 1.4
    // 1.6: where revocation data is published (text[] columns, never NULL).
    int ncrl_urls;
    text** crl_urls;
    int nocsp_urls;
    text** ocsp_urls;
    int nca_issuers_urls;
    text** ca_issuers_urls;
};

// Number of columns of ssl_certificate_info up to 1.5, in FlatCert's order:
// what flat_cert_values fills (ssl_import's insert parameters $1..$20).
constexpr int kCertColumns = 20;
// 1.6: the three revocation URL columns follow (flat_cert_url_values);
// ssl_certificate_info has kParseColumns attributes.
constexpr int kCertUrlColumns = 3;
constexpr int kParseColumns = kCertColumns + kCertUrlColumns;

// The k-th revocation URL list of a FlatCert (0 crl_urls, 1 ocsp_urls,
// 2 ca_issuers_urls) and its length, for code that loops over the three.
inline text** flat_cert_urls(const FlatCert* c, int k, int* n) {
    switch (k) {
    case 0: *n = c->ncrl_urls; return c->crl_urls;
    case 1: *n = c->nocsp_urls; return c->ocsp_urls;
    default: *n = c->nca_issuers_urls; return c->ca_issuers_urls;
    }
}

enum class InputForm { Text, Binary };

// Reads argument `argno` (text PEM or bytea DER), parses it and fills `out`.
// Raises the documented SQLSTATE on NULL, oversized or bad input; returns
// only on success. No C++ object is alive when it raises.
void read_certificate_arg(FunctionCallInfo fcinfo, int argno, InputForm form, FlatCert* out);

// The certificate as ssl_certificate_info column values.
void flat_cert_values(const FlatCert* cert, Datum* values, bool* nulls);
// crl_urls, ocsp_urls, ca_issuers_urls as kCertUrlColumns text[] values.
void flat_cert_url_values(const FlatCert* cert, Datum* values, bool* nulls);

// ssl_import's insert for bundle.cpp (janus.cpp); needs an SPI connection.
// False when the fingerprint is stored already (nothing inserted).
bool import_flat_certificate(FunctionCallInfo fcinfo, const FlatCert* cert, text* tenant, int64* id);
bool find_certificate_id(FunctionCallInfo fcinfo, text* fingerprint, int64* id);

// The schema of the extension's tables, for a C entry point created in it
// or in netbox_ssl_internal (module.cpp).
Oid netbox_ssl_tables_schema(FunctionCallInfo fcinfo);

// The one write path of import, renew and bundle (write_path.cpp); needs an
// SPI connection. write_path_usable: the schema has the 1.6 write path (else
// the callers use their pre-1.6 statements). write_certificates stores n
// parsed certificates in one statement (see write_path.cpp) and sets ids[i]
// to the new id, or 0 where the fingerprint was stored already (ON CONFLICT
// DO NOTHING). renewal: status active and no imported event.
bool write_path_usable(FunctionCallInfo fcinfo);
void write_certificates(FunctionCallInfo fcinfo, FlatCert* const* certs, text* const* tenants,
                        text* const* key_locations, int n, bool renewal, int64* ids);
// Marks the next SPI statement as the write path's own (write_path.cpp):
// triggers whose work it does skip it (WHEN NOT ssl_write_path_owns()).
void write_path_arm();
// JIT off for the statements between (write_path.cpp: kept generic plans
// whose cost enable_seqscan = off inflates would be JIT-compiled per call).
int jit_off_begin();
void jit_off_end(int level);
void write_path_disarm();

// Settings of ssl_import_bundle, defined from _PG_init (bundle.cpp).
void define_bundle_settings();

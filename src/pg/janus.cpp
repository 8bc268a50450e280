// ssl_import and ssl_renew: the writing functions.
//
// They parse first (read_certificate_arg), then run SPI with plans kept for
// the life of the backend. No C++ object with a destructor exists in these
// frames, so an error raised by SPI unwinds through them safely. They never
// commit: everything happens in the caller's transaction, savepoint or
// trigger, and any error leaves nothing behind.
#include "pg/adapter.hpp"
#include "pg/boundary.hpp"
#include "pg/standby.hpp"

#include <initializer_list>

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace {

// Parameters $1..$20 are the ssl_certificate_info columns, then $21 tenant
// and $22 private_key_location.
constexpr int kInsertParams = kCertColumns + 2;
const char* const kInsertColumns =
    "common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans, algorithm, "
    "key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, pem_content, "
    "issuer_chain, issuer_cn, issuer_org, tbs_sha256, tenant, private_key_location, status";
const char* const kInsertValues =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22";
// The same for a schema still at 1.3 or older (library installed, ALTER
// EXTENSION UPDATE not run yet): the 1.4 columns are left out, $18..$20 unused.
const char* const kInsertColumnsPre14 =
    "common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans, algorithm, "
    "key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, pem_content, "
    "issuer_chain, tenant, private_key_location, status";
const char* const kInsertValuesPre14 =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $21, $22";

struct Plans {
    Oid schema = InvalidOid;
    bool columns_14 = false;  // ssl_certificate has the 1.4 parser columns
    SPIPlanPtr import_insert = nullptr;  // insert + imported event, one statement
    SPIPlanPtr find_fingerprint = nullptr;
    SPIPlanPtr lock_old = nullptr;
    SPIPlanPtr renew_insert = nullptr;
    SPIPlanPtr move_assignments = nullptr;
    SPIPlanPtr mark_replaced = nullptr;
    SPIPlanPtr renew_events = nullptr;
};
Plans plans;

SPIPlanPtr prepare(const char* sql, int nargs, const Oid* types) {
    SPIPlanPtr plan = SPI_prepare(sql, nargs, const_cast<Oid*>(types));
    if (plan == nullptr) {
        elog(ERROR, "SPI_prepare failed (%s) for: %s", SPI_result_code_string(SPI_result), sql);
    }
    if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
    return plan;
}

// Plans name every table with the extension's schema (the schema of the
// called function), so the caller's search_path cannot redirect them.
const Plans& plans_for(FunctionCallInfo fcinfo) {
    const Oid schema = netbox_ssl_tables_schema(fcinfo);
    const Oid table = get_relname_relid("ssl_certificate", schema);
    const bool columns_14 = OidIsValid(table) && get_attnum(table, "tbs_sha256") != InvalidAttrNumber;
    if (plans.schema == schema && plans.columns_14 == columns_14 && plans.renew_events != nullptr) return plans;

    for (SPIPlanPtr* p : {&plans.import_insert, &plans.find_fingerprint, &plans.lock_old, &plans.renew_insert,
                          &plans.move_assignments, &plans.mark_replaced, &plans.renew_events}) {
        if (*p != nullptr) SPI_freeplan(*p);
        *p = nullptr;
    }
    plans.schema = schema;
    plans.columns_14 = columns_14;
    const char* s = quote_identifier(get_namespace_name(schema));
    const char* columns = columns_14 ? kInsertColumns : kInsertColumnsPre14;
    const char* values = columns_14 ? kInsertValues : kInsertValuesPre14;

    Oid insert_types[kInsertParams] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
                                       TEXTARRAYOID, TEXTOID, INT4OID, TEXTOID, BOOLOID, TEXTOID, TEXTOID,
                                       TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
    plans.import_insert = prepare(
        psprintf("WITH c AS (INSERT INTO %s.ssl_certificate (%s) VALUES (%s, "
                 "CASE WHEN $7 < now() THEN 'expired' WHEN $6 > now() THEN 'pending' ELSE 'active' END) "
                 "ON CONFLICT (fingerprint_sha256) DO NOTHING RETURNING id, status), "
                 "e AS (INSERT INTO %s.ssl_lifecycle_event (certificate_id, event_type, new_status, description) "
                 "SELECT id, 'imported', status, 'Imported with status ' || status FROM c) "
                 "SELECT id FROM c",
                 s, columns, values, s),
        kInsertParams, insert_types);
    plans.renew_insert = prepare(
        psprintf("INSERT INTO %s.ssl_certificate (%s) VALUES (%s, 'active') "
                 "ON CONFLICT (fingerprint_sha256) DO NOTHING RETURNING id",
                 s, columns, values),
        kInsertParams, insert_types);

    Oid text_type[1] = {TEXTOID};
    plans.find_fingerprint =
        prepare(psprintf("SELECT id FROM %s.ssl_certificate WHERE fingerprint_sha256 = $1", s), 1, text_type);

    Oid id_type[1] = {INT8OID};
    plans.lock_old = prepare(
        psprintf("SELECT status, replaced_by, common_name, tenant, private_key_location, fingerprint_sha256 "
                 "FROM %s.ssl_certificate WHERE id = $1 FOR NO KEY UPDATE",
                 s),
        1, id_type);

    Oid two_ids[2] = {INT8OID, INT8OID};
    plans.move_assignments =
        // The rows are locked in the order of the unique index (certificate,
        // object type, object id) before they move, so that a multi-row
        // DELETE or UPDATE of the same rows that locks in that order too
        // cannot deadlock with the move (docs/concurrency.md, lock order).
        prepare(psprintf("UPDATE %s.ssl_assignment a SET certificate_id = $2 "
                         "FROM (SELECT id FROM %s.ssl_assignment WHERE certificate_id = $1 "
                         "ORDER BY object_type, object_id FOR NO KEY UPDATE) l WHERE a.id = l.id",
                         s, s),
                2, two_ids);
    plans.mark_replaced = prepare(
        psprintf("UPDATE %s.ssl_certificate SET status = 'replaced', replaced_by = $2 WHERE id = $1", s), 2, two_ids);

    Oid event_types[4] = {INT8OID, INT8OID, TEXTOID, INT8OID};
    plans.renew_events = prepare(
        psprintf("INSERT INTO %s.ssl_lifecycle_event "
                 "(certificate_id, event_type, old_status, new_status, related_certificate_id, description) VALUES "
                 "($1, 'renewed', $3, 'replaced', $2, "
                 " format('Renewed: replaced by certificate %%s; %%s assignment(s) moved', $2, $4)), "
                 "($2, 'activated', NULL, 'active', $1, format('Activated as the renewal of certificate %%s', $1))",
                 s),
        4, event_types);
    return plans;
}

void fill_insert_params(const FlatCert* cert, text* tenant, text* key_location, Datum* values, char* nulls) {
    bool isnull[kCertColumns];
    flat_cert_values(cert, values, isnull);
    for (int i = 0; i < kCertColumns; ++i) nulls[i] = isnull[i] ? 'n' : ' ';
    values[kCertColumns] = PointerGetDatum(tenant);
    nulls[kCertColumns] = tenant == nullptr ? 'n' : ' ';
    values[kCertColumns + 1] = PointerGetDatum(key_location);
    nulls[kCertColumns + 1] = key_location == nullptr ? 'n' : ' ';
}

char* text_cstring(text* t) { return t == nullptr ? nullptr : text_to_cstring(t); }

// Raised when ON CONFLICT found the fingerprint taken. The id is looked up
// afresh; under REPEATABLE READ a concurrent winner may be invisible.
[[noreturn]] void raise_duplicate(const Plans& p, text* fingerprint) {
    Datum arg[1] = {PointerGetDatum(fingerprint)};
    int rc = SPI_execute_plan(p.find_fingerprint, arg, nullptr, false, 1);
    char* fp = text_to_cstring(fingerprint);
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
        bool isnull = false;
        int64 existing = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
        ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                        errmsg("certificate with fingerprint %s is already stored as id " INT64_FORMAT, fp, existing),
                        errhint("Use the existing row; importing the same certificate twice is refused.")));
    }
    ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                    errmsg("certificate with fingerprint %s was stored by a concurrent transaction", fp)));
    pg_unreachable();
}

Datum import_common(FunctionCallInfo fcinfo, InputForm form) {
    refuse_on_standby("ssl_import");
    FlatCert cert;
    read_certificate_arg(fcinfo, 0, form, &cert);
    text* key_location = optional_text_arg(fcinfo, 1);
    text* tenant = optional_text_arg(fcinfo, 2);

    SPI_connect();
    const Plans& p = plans_for(fcinfo);
    if (write_path_usable(fcinfo)) {  // 1.6: one statement does it all
        FlatCert* certs[1] = {&cert};
        int64 id = 0;
        write_certificates(fcinfo, certs, &tenant, &key_location, 1, false, &id);
        if (id == 0) raise_duplicate(p, cert.fingerprint_sha256);
        SPI_finish();
        PG_RETURN_INT64(id);
    }
    Datum values[kInsertParams];
    char nulls[kInsertParams];
    fill_insert_params(&cert, tenant, key_location, values, nulls);
    int rc = SPI_execute_plan(p.import_insert, values, nulls, false, 0);
    if (rc != SPI_OK_SELECT) elog(ERROR, "import failed: %s", SPI_result_code_string(rc));
    if (SPI_processed == 0) raise_duplicate(p, cert.fingerprint_sha256);
    bool isnull = false;
    int64 id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    SPI_finish();
    PG_RETURN_INT64(id);
}

bool same_name_ignoring_case(text* a, const char* b) {
    if (a == nullptr || b == nullptr) return false;
    const char* ad = VARDATA_ANY(a);
    const Size alen = VARSIZE_ANY_EXHDR(a);
    return strlen(b) == alen && pg_strncasecmp(ad, b, alen) == 0;
}

Datum renew_common(FunctionCallInfo fcinfo, InputForm form) {
    refuse_on_standby("ssl_renew");
    require_arg(fcinfo, 0, "old_id");
    const int64 old_id = PG_GETARG_INT64(0);
    FlatCert cert;
    read_certificate_arg(fcinfo, 1, form, &cert);
    text* key_location = optional_text_arg(fcinfo, 2);
    const bool allow_cn_change = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

    SPI_connect();
    const Plans& p = plans_for(fcinfo);

    // 1. Lock the old row so that concurrent renewals of it serialise; a
    // loser wakes up to the winner's committed row and fails below. FOR NO
    // KEY UPDATE (since 1.5), not FOR UPDATE: it conflicts with another
    // renewal or revert and with the FOR SHARE of the assignment target
    // check, but not with the KEY SHARE that a concurrent statement's event
    // insert takes for its foreign key. With FOR UPDATE, a multi-row DELETE
    // of the certificate's assignments still running when the lock was taken
    // deadlocked against the move below (security item 13).
    Datum id_arg[1] = {Int64GetDatum(old_id)};
    int rc = SPI_execute_plan(p.lock_old, id_arg, nullptr, false, 1);
    if (rc != SPI_OK_SELECT) elog(ERROR, "lock failed: %s", SPI_result_code_string(rc));
    if (SPI_processed == 0) {
        ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND), errmsg("certificate " INT64_FORMAT " does not exist", old_id)));
    }
    HeapTuple row = SPI_tuptable->vals[0];
    TupleDesc desc = SPI_tuptable->tupdesc;
    char* status = SPI_getvalue(row, desc, 1);
    char* successor = SPI_getvalue(row, desc, 2);
    char* old_cn = SPI_getvalue(row, desc, 3);
    bool tenant_null = false;
    Datum old_tenant = SPI_getbinval(row, desc, 4, &tenant_null);
    bool location_null = false;
    Datum old_location = SPI_getbinval(row, desc, 5, &location_null);
    char* old_fingerprint = SPI_getvalue(row, desc, 6);

    // 2. Preconditions.
    if (strcmp(status, "replaced") == 0) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("certificate " INT64_FORMAT " was already replaced by certificate %s", old_id,
                               successor != nullptr ? successor : "(unknown)"),
                        errhint("Renew the successor instead.")));
    }
    if (strcmp(status, "active") != 0 && strcmp(status, "expired") != 0) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("certificate " INT64_FORMAT " cannot be renewed", old_id),
                        errdetail("It is %s; only active or expired certificates can be renewed.", status)));
    }
    if (!allow_cn_change && !same_name_ignoring_case(cert.common_name, old_cn)) {
        char* new_cn = text_cstring(cert.common_name);
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the replacement's Common Name \"%s\" does not match certificate " INT64_FORMAT "'s \"%s\"",
                               new_cn != nullptr ? new_cn : "(none)", old_id, old_cn != nullptr ? old_cn : "(none)"),
                        errhint("Pass allow_cn_change => true to renew with a certificate for another name.")));
    }
    if (strcmp(old_fingerprint, text_to_cstring(cert.fingerprint_sha256)) == 0) {
        ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                        errmsg("the replacement is certificate " INT64_FORMAT " itself", old_id),
                        errhint("Renew with the new certificate, not the one already stored.")));
    }
    if (cert.valid_to < GetCurrentTransactionStartTimestamp()) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the replacement certificate has expired"),
                        errdetail("It expired at %s.", timestamptz_to_str(cert.valid_to)),
                        errhint("Renew with a certificate that is still valid.")));
    }

    // 3. The new row, inheriting tenant and (unless given) the key location.
    text* new_tenant = tenant_null ? nullptr : DatumGetTextPP(old_tenant);
    text* new_location = key_location != nullptr ? key_location
                                                 : (location_null ? nullptr : DatumGetTextPP(old_location));
    int64 new_id = 0;
    const bool one_path = write_path_usable(fcinfo);
    if (one_path) {  // 1.6: the write path's statement (row, ACME, authority, CSR link)
        FlatCert* certs[1] = {&cert};
        write_certificates(fcinfo, certs, &new_tenant, &new_location, 1, true, &new_id);
        if (new_id == 0) raise_duplicate(p, cert.fingerprint_sha256);
    } else {
        Datum values[kInsertParams];
        char nulls[kInsertParams];
        fill_insert_params(&cert, new_tenant, new_location, values, nulls);
        rc = SPI_execute_plan(p.renew_insert, values, nulls, false, 0);
        if (rc != SPI_OK_INSERT_RETURNING) elog(ERROR, "renewal insert failed: %s", SPI_result_code_string(rc));
        if (SPI_processed == 0) raise_duplicate(p, cert.fingerprint_sha256);
        bool isnull = false;
        new_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }

    // 4. Move (not copy) every assignment: one statement, ids unchanged.
    // The renewal's own move logs the renewal events below, not
    // assignment_removed/assignment_added (the history trigger skips it).
    Datum ids[2] = {Int64GetDatum(old_id), Int64GetDatum(new_id)};
    // From 1.6 the move is the write path's own statement too: the target
    // check (the new row is ours, active and uncommitted) and the history
    // (which logs nothing for this move) skip it instead of reading 2 x N
    // transition rows.
    internal_switch_set(kSwitchMoving, old_id);
    const int jit_level = jit_off_begin();
    if (one_path) write_path_arm();
    rc = SPI_execute_plan(p.move_assignments, ids, nullptr, false, 0);
    write_path_disarm();
    jit_off_end(jit_level);
    internal_switch_clear(kSwitchMoving);
    if (rc != SPI_OK_UPDATE) elog(ERROR, "moving assignments failed: %s", SPI_result_code_string(rc));
    const int64 moved = static_cast<int64>(SPI_processed);

    // 5. The linked events, before the status change: from 1.1 on, a
    // trigger logs every status change that has no event yet.
    Datum event_args[4] = {Int64GetDatum(old_id), Int64GetDatum(new_id), CStringGetTextDatum(status),
                           Int64GetDatum(moved)};
    rc = SPI_execute_plan(p.renew_events, event_args, nullptr, false, 0);
    if (rc != SPI_OK_INSERT) elog(ERROR, "logging the renewal failed: %s", SPI_result_code_string(rc));

    // 6. The old certificate is kept, as replaced.
    rc = SPI_execute_plan(p.mark_replaced, ids, nullptr, false, 0);
    if (rc != SPI_OK_UPDATE || SPI_processed != 1) {
        elog(ERROR, "marking certificate " INT64_FORMAT " replaced failed", old_id);
    }

    SPI_finish();
    PG_RETURN_INT64(new_id);
}

}  // namespace

NETBOX_SSL_ENTRY(ssl_import_text) { return import_common(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_import_bytea) { return import_common(fcinfo, InputForm::Binary); }
NETBOX_SSL_ENTRY(ssl_renew_text) { return renew_common(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_renew_bytea) { return renew_common(fcinfo, InputForm::Binary); }

// For ssl_import_bundle (bundle.cpp): ssl_import's own insert (row and
// imported event) for one parsed certificate. The caller is connected to SPI.
bool import_flat_certificate(FunctionCallInfo fcinfo, const FlatCert* cert, text* tenant, int64* id) {
    const Plans& p = plans_for(fcinfo);
    if (write_path_usable(fcinfo)) {
        FlatCert* certs[1] = {const_cast<FlatCert*>(cert)};
        text* no_location = nullptr;
        write_certificates(fcinfo, certs, &tenant, &no_location, 1, false, id);
        return *id != 0;
    }
    Datum values[kInsertParams];
    char nulls[kInsertParams];
    fill_insert_params(cert, tenant, nullptr, values, nulls);
    const int rc = SPI_execute_plan(p.import_insert, values, nulls, false, 0);
    if (rc != SPI_OK_SELECT) elog(ERROR, "import failed: %s", SPI_result_code_string(rc));
    const bool inserted = SPI_processed == 1;
    if (inserted) {
        bool isnull = false;
        *id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }
    SPI_freetuptable(SPI_tuptable);
    return inserted;
}

// The id stored under a fingerprint, if visible.
bool find_certificate_id(FunctionCallInfo fcinfo, text* fingerprint, int64* id) {
    const Plans& p = plans_for(fcinfo);
    Datum arg[1] = {PointerGetDatum(fingerprint)};
    const int rc = SPI_execute_plan(p.find_fingerprint, arg, nullptr, false, 1);
    const bool found = rc == SPI_OK_SELECT && SPI_processed == 1;
    if (found) {
        bool isnull = false;
        *id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }
    SPI_freetuptable(SPI_tuptable);
    return found;
}

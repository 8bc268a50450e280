// The one write path of ssl_import, ssl_renew and ssl_import_bundle (1.6).
//
// One statement (a kept SPI plan) stores a batch of parsed certificates
// from arrays (unnest): the row with its ACME provider and authority link
// computed in the same INSERT, the imported event, its outbox row, the
// outbox deliveries, the CSR link and the NOTIFY. The per-row PL/pgSQL
// triggers and the statement triggers that would otherwise do that work
// have WHEN (NOT netbox_ssl_internal.ssl_write_path_owns()) and skip exactly
// this statement: a plain INSERT by a user still gets all of them
// (docs/architecture.md, "Triggers, in firing order").
//
// ssl_write_path_owns() is true only while the command counter is the one
// this statement runs with, in the same backend transaction: statements run
// from inside triggers (a nested write, e.g. a revocation mark or the NetBox
// bridge) advance the command counter first, so their triggers fire as
// usual. The state is backend-local C state that no SQL can set; a stale
// value never matches again, since command ids only grow in a transaction
// and the local transaction id changes with every transaction.
//
// No C++ object with a destructor lives in these frames: SPI errors unwind
// through them safely.
#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "jit/jit.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
}

namespace {

struct Owner {
    LocalTransactionId lxid = InvalidLocalTransactionId;
    CommandId cid = InvalidCommandId;
};
Owner owner;

LocalTransactionId current_lxid() {
#if PG_VERSION_NUM >= 170000
    return MyProc->vxid.lxid;
#else
    return MyProc->lxid;
#endif
}

// Parameters, in FlatCert order, then the per-row inputs of the write path.
constexpr int kWriteParams = 26;
const Oid kWriteTypes[kWriteParams] = {
    TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, 1185 /* timestamptz[] */,
    1185,         TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, 1000 /* bool[] */,
    TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
    TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
    TEXTARRAYOID, INT4ARRAYOID};

struct WritePlans {
    Oid schema = InvalidOid;
    bool usable = false;
    SPIPlanPtr import = nullptr;
    SPIPlanPtr renewal = nullptr;
};
WritePlans write_plans;

// The statement. The array columns (sans and the URL lists) arrive as array
// literals, one text per row, since unnest cannot take ragged arrays.
char* write_sql(const char* s, bool renewal) {
    const char* rows =
        "WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::int4[], $11::text[], $12::bool[], "
        "$13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], "
        "$21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::int4[]) "
        "AS r(common_name, subject, issuer, serial_number, fingerprint_sha256, valid_from, valid_to, sans, "
        "algorithm, key_size, signature_algorithm, is_ca, subject_key_id, authority_key_id, spki_sha256, "
        "pem_content, issuer_chain, issuer_cn, issuer_org, tbs_sha256, tenant, private_key_location, crl_urls, "
        "ocsp_urls, ca_issuers_urls, ord)), ";
    // ssl_certificate_detect_acme, ssl_certificate_issuer_chain_check and
    // ssl_certificate_match_authority (with ssl_find_authority inlined), as
    // columns of the same INSERT.
    const char* status = renewal ? "'active'"
                                 : "CASE WHEN r.valid_to < now() THEN 'expired' WHEN r.valid_from > now() "
                                   "THEN 'pending' ELSE 'active' END";
    char* insert = psprintf(
        "c AS (INSERT INTO %s.ssl_certificate (common_name, subject, issuer, serial_number, fingerprint_sha256, "
        "valid_from, valid_to, sans, algorithm, key_size, signature_algorithm, is_ca, subject_key_id, "
        "authority_key_id, spki_sha256, pem_content, issuer_chain, issuer_cn, issuer_org, tbs_sha256, tenant, "
        "private_key_location, crl_urls, ocsp_urls, ca_issuers_urls, status, is_acme, acme_provider, "
        "issuing_ca_id, issuing_ca_source) "
        "SELECT r.common_name, r.subject, r.issuer, r.serial_number, r.fingerprint_sha256, r.valid_from, "
        "r.valid_to, r.sans::text[], r.algorithm, r.key_size, r.signature_algorithm, r.is_ca, r.subject_key_id, "
        "r.authority_key_id, r.spki_sha256, r.pem_content, r.issuer_chain, r.issuer_cn, r.issuer_org, "
        "r.tbs_sha256, r.tenant, r.private_key_location, r.crl_urls::text[], r.ocsp_urls::text[], "
        "r.ca_issuers_urls::text[], %s, acme.provider IS NOT NULL, acme.provider, "
        "CASE WHEN k.src IN ('manual', 'key_id') THEN k.ca ELSE coalesce(p.id, k.ca) END, "
        "CASE WHEN k.src IN ('manual', 'key_id') THEN 'key_id' WHEN p.id IS NOT NULL THEN 'pattern' "
        "WHEN k.ca IS NOT NULL THEN 'key_id' END "
        "FROM r "
        "LEFT JOIN LATERAL (SELECT a.provider FROM %s.ssl_acme_issuer a "
        "WHERE (a.issuer_org IS NULL OR r.issuer_org LIKE a.issuer_org) "
        "AND (a.issuer_cn IS NULL OR r.issuer_cn LIKE a.issuer_cn) "
        "ORDER BY a.builtin, (a.issuer_org IS NOT NULL AND a.issuer_cn IS NOT NULL) DESC, a.id LIMIT 1) acme ON true "
        "LEFT JOIN LATERAL (SELECT x.issuing_ca_id AS ca, x.issuing_ca_source AS src FROM %s.ssl_certificate x "
        "WHERE r.authority_key_id IS NOT NULL AND x.is_ca AND x.subject_key_id = r.authority_key_id "
        "AND x.issuing_ca_id IS NOT NULL "
        "ORDER BY (x.subject = r.issuer) DESC, (x.issuing_ca_source <> 'pattern') DESC, x.valid_to DESC, x.id "
        "LIMIT 1) k ON true "
        "LEFT JOIN LATERAL (SELECT a.id FROM %s.ssl_certificate_authority a "
        "WHERE a.issuer_pattern IS NOT NULL AND r.issuer ~* a.issuer_pattern "
        "ORDER BY length(a.issuer_pattern) DESC, a.id LIMIT 1) p ON true "
        "WHERE (coalesce(r.issuer_chain, '') = '' "
        "OR netbox_ssl_internal.ssl_issuer_chain_check(r.issuer_chain, true) IS NULL) "
        "ORDER BY r.ord "
        "ON CONFLICT (fingerprint_sha256) DO NOTHING "
        "RETURNING id, status, fingerprint_sha256, spki_sha256, common_name), ",
        s, status, s, s, s);
    // ssl_csr_link_certificate.
    char* csr = psprintf(
        "k AS (UPDATE %s.ssl_csr q SET status = 'issued', resulting_certificate_id = n.id "
        "FROM (SELECT DISTINCT ON (spki_sha256) id, spki_sha256 FROM c ORDER BY spki_sha256, id) n "
        "WHERE q.spki_sha256 = n.spki_sha256 AND q.status IN ('pending', 'approved') RETURNING q.id) ",
        s);
    if (renewal) return psprintf("%s%s%s SELECT c.id, c.fingerprint_sha256 FROM c", rows, insert, csr);
    // The imported event and ssl_outbox_publish for it (same payload).
    char* events = psprintf(
        "e AS (INSERT INTO %s.ssl_lifecycle_event (certificate_id, event_type, new_status, description) "
        "SELECT id, 'imported', status, 'Imported with status ' || status FROM c ORDER BY id "
        "RETURNING id, certificate_id, event_type, old_status, new_status, related_certificate_id, actor, "
        "on_behalf_of, occurred_at), "
        "o AS (INSERT INTO %s.ssl_outbox (id, certificate_id, event_type, payload, xid, published_snapshot) "
        "SELECT n.id, n.certificate_id, n.event_type, jsonb_build_object("
        "'id', n.id, 'certificate_id', n.certificate_id, 'type', left(n.event_type, 200), "
        "'old_status', left(n.old_status, 200), 'new_status', left(n.new_status, 200), "
        "'related_certificate_id', n.related_certificate_id, 'common_name', left(x.common_name, 200), "
        "'actor', left(n.actor, 200), 'on_behalf_of', left(n.on_behalf_of, 200), "
        "'occurred_at', to_char(n.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
        "'threshold', NULL::integer, "
        "'truncated', coalesce(greatest(length(n.event_type), length(n.old_status), length(n.new_status), "
        "length(x.common_name), length(n.actor), length(n.on_behalf_of)) > 200, false)), "
        "pg_current_xact_id(), pg_current_snapshot() "
        "FROM e n LEFT JOIN c x ON x.id = n.certificate_id WHERE n.occurred_at >= now() ORDER BY n.id "
        "RETURNING id, certificate_id, event_type), "
        "d AS (INSERT INTO %s.ssl_outbox_delivery (consumer, outbox_id) "
        "SELECT sc.name, o.id FROM o CROSS JOIN %s.ssl_outbox_consumer sc), ",
        s, s, s, s);
    return psprintf(
        "%s%s%s%s, z AS (SELECT count(pg_catalog.pg_notify('ssl_lifecycle', jsonb_build_object('id', y.id, "
        "'certificate_id', y.certificate_id, 'type', left(y.event_type, 200))::text)) AS sent "
        "FROM (SELECT * FROM o ORDER BY id) y) "
        "SELECT c.id, c.fingerprint_sha256 FROM c, z",
        rows, insert, events, csr);
}

SPIPlanPtr keep(const char* sql) {
    // Generic from the start: the statement is the same for every batch, and a
    // custom plan would re-plan this CTE on every call.
    SPIPlanPtr plan = SPI_prepare_cursor(sql, kWriteParams, const_cast<Oid*>(kWriteTypes), CURSOR_OPT_GENERIC_PLAN);
    if (plan == nullptr) elog(ERROR, "SPI_prepare failed (%s) for the write path", SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
    return plan;
}

const WritePlans& plans_for(FunctionCallInfo fcinfo) {
    const Oid schema = netbox_ssl_tables_schema(fcinfo);
    const Oid table = get_relname_relid("ssl_certificate", schema);
    // A schema before 1.6 (library updated, ALTER EXTENSION UPDATE not run):
    // its triggers do not skip this statement, so the callers keep their
    // pre-1.6 statements.
    const bool usable = OidIsValid(table) && get_attnum(table, "crl_urls") != InvalidAttrNumber;
    if (write_plans.schema == schema && write_plans.usable == usable && (!usable || write_plans.renewal != nullptr)) {
        return write_plans;
    }
    for (SPIPlanPtr* p : {&write_plans.import, &write_plans.renewal}) {
        if (*p != nullptr) SPI_freeplan(*p);
        *p = nullptr;
    }
    write_plans.schema = schema;
    write_plans.usable = usable;
    if (usable) {
        const char* s = quote_identifier(get_namespace_name(schema));
        write_plans.import = keep(write_sql(s, false));
        write_plans.renewal = keep(write_sql(s, true));
    }
    return write_plans;
}

Datum array_literal(text** items, int n) {
    Datum arr = text_array_datum(items, n);
    return CStringGetTextDatum(OidOutputFunctionCall(F_ARRAY_OUT, arr));
}

Datum column_array(Datum* values, bool* nulls, int n, Oid elem) {
    int16 len = 0;
    bool byval = false;
    char align = 'i';
    get_typlenbyvalalign(elem, &len, &byval, &align);
    int dims[1] = {n};
    int lbs[1] = {1};
    return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elem, len, byval, align));
}

}  // namespace

// JIT is off while the write path's statements run and are planned. Their
// plans are kept and generic, and ssl_import runs with enable_seqscan = off:
// the seq scans of the tiny ssl_acme_issuer and ssl_certificate_authority
// tables then cost 1e10 each, far above jit_above_cost, so with jit = on
// (the server default where LLVM is installed) every execution compiled the
// plan again with inlining and optimisation: 66 ms per ssl_import measured
// here (10,000 imports in 11 min instead of 5 s). JIT cannot pay off for a
// statement of one or a thousand rows. The setting is decided when the plan
// is made (a re-plan after invalidation happens inside SPI_execute_plan),
// hence around every execution; nothing to do when JIT is off anyway.
int jit_off_begin() {
    if (!jit_enabled) return 0;
    const int level = NewGUCNestLevel();
    (void)set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    return level;
}

// Restores jit; on an error the transaction's (or subtransaction's) abort
// restores it instead.
void jit_off_end(int level) {
    if (level != 0) AtEOXact_GUC(true, level);
}

void write_path_arm() {
    // Marking the current command id used makes the command-counter
    // increment before the next SPI statement advance it by exactly one.
    owner.cid = GetCurrentCommandId(true) + 1;
    owner.lxid = current_lxid();
}

void write_path_disarm() { owner = Owner{}; }

bool write_path_usable(FunctionCallInfo fcinfo) { return plans_for(fcinfo).usable; }

void write_certificates(FunctionCallInfo fcinfo, FlatCert* const* certs, text* const* tenants,
                        text* const* key_locations, int n, bool renewal, int64* ids) {
    const WritePlans& p = plans_for(fcinfo);
    static const Oid elem[kWriteParams] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
                                           TIMESTAMPTZOID, TEXTOID, TEXTOID, INT4OID, TEXTOID, BOOLOID,
                                           TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                                           TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                                           TEXTOID, INT4OID};
    Datum* cols[kWriteParams];
    bool* colnulls[kWriteParams];
    for (int k = 0; k < kWriteParams; ++k) {
        cols[k] = static_cast<Datum*>(palloc(sizeof(Datum) * n));
        colnulls[k] = static_cast<bool*>(palloc(sizeof(bool) * n));
    }
    for (int i = 0; i < n; ++i) {
        Datum v[kCertColumns];
        bool isnull[kCertColumns];
        flat_cert_values(certs[i], v, isnull);
        for (int k = 0; k < kCertColumns; ++k) {
            cols[k][i] = v[k];
            colnulls[k][i] = isnull[k];
        }
        cols[7][i] = array_literal(certs[i]->sans, certs[i]->nsans);
        cols[20][i] = PointerGetDatum(tenants[i]);
        colnulls[20][i] = tenants[i] == nullptr;
        cols[21][i] = PointerGetDatum(key_locations[i]);
        colnulls[21][i] = key_locations[i] == nullptr;
        for (int u = 0; u < 3; ++u) {
            int nurls = 0;
            text** urls = flat_cert_urls(certs[i], u, &nurls);
            cols[22 + u][i] = array_literal(urls, nurls);
            colnulls[22 + u][i] = false;
        }
        cols[25][i] = Int32GetDatum(i + 1);
        colnulls[25][i] = false;
    }
    Datum args[kWriteParams];
    for (int k = 0; k < kWriteParams; ++k) args[k] = column_array(cols[k], colnulls[k], n, elem[k]);

    const int jit_level = jit_off_begin();
    write_path_arm();
    const int rc = SPI_execute_plan(renewal ? p.renewal : p.import, args, nullptr, false, 0);
    write_path_disarm();
    jit_off_end(jit_level);
    if (rc != SPI_OK_SELECT) elog(ERROR, "storing certificates failed: %s", SPI_result_code_string(rc));

    // RETURNING comes in insertion order, which is the batch's order with
    // the rows ON CONFLICT skipped left out.
    uint64 next = 0;
    for (int i = 0; i < n; ++i) {
        ids[i] = 0;
        if (next >= SPI_processed) continue;
        HeapTuple row = SPI_tuptable->vals[next];
        bool isnull = false;
        text* fp = DatumGetTextPP(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
        text* mine = certs[i]->fingerprint_sha256;
        if (VARSIZE_ANY_EXHDR(fp) == VARSIZE_ANY_EXHDR(mine) &&
            memcmp(VARDATA_ANY(fp), VARDATA_ANY(mine), VARSIZE_ANY_EXHDR(fp)) == 0) {
            ids[i] = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
            ++next;
        }
    }
    SPI_freetuptable(SPI_tuptable);
}

// ssl_write_path_owns(): true while the write path's own statement runs
// (its command id, in this backend transaction). Used in trigger WHEN
// clauses only; reading it is harmless and nothing in SQL can set it.
NETBOX_SSL_ENTRY(ssl_write_path_owns) {
    (void)fcinfo;
    PG_RETURN_BOOL(owner.cid != InvalidCommandId && owner.lxid == current_lxid() &&
                   owner.cid == GetCurrentCommandId(false));
}

// ssl_import_bundle: every certificate of a PEM stream, PKCS#7 bundle or
// concatenated DER becomes its own row, in the caller's transaction.
//
// Memory stays flat however long the bundle is:
// - the core's BundleReader streams through the (detoasted) input one
//   certificate at a time and keeps only the bundle's CA certificates, for
//   the issuer chains;
// - each certificate is parsed, flattened and inserted inside a row context
//   that is reset after the row;
// - result rows go to a tuplestore (materialize mode), which spills to disk
//   beyond work_mem;
// - duplicates within the bundle are recognised by the ids this call
//   inserted (8 bytes per certificate), not by keeping fingerprints.
//
// The reader is a C++ object that lives across SPI calls, which may raise.
// It is therefore not a local: it is constructed in its own memory context,
// and a reset callback on that context runs its destructor, whether the
// function ends normally (MemoryContextDelete) or an error unwinds the
// transaction and its contexts. No frame of this file owns a C++ object
// while it calls into PostgreSQL.
#include "core/bundle_reader.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"
#include "pg/standby.hpp"

#include <cstring>
#include <new>

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
}

namespace {

int progress_every = 10000;

// Certificates per INSERT statement (1.6 write path).
constexpr int kBatchSize = 1000;

enum class OnConflict { Error, Skip, UpdateChain };

struct BundlePlans {
    Oid schema = InvalidOid;
    SPIPlanPtr update_chain = nullptr;
};
BundlePlans bundle_plans;

SPIPlanPtr update_chain_plan(FunctionCallInfo fcinfo) {
    const Oid schema = netbox_ssl_tables_schema(fcinfo);
    if (bundle_plans.schema == schema && bundle_plans.update_chain != nullptr) return bundle_plans.update_chain;
    if (bundle_plans.update_chain != nullptr) SPI_freeplan(bundle_plans.update_chain);
    bundle_plans.update_chain = nullptr;
    const char* s = quote_identifier(get_namespace_name(schema));
    Oid types[2] = {INT8OID, TEXTOID};
    // Fills the chain only where none is stored, and logs it in the history.
    SPIPlanPtr plan = SPI_prepare(
        psprintf("WITH u AS (UPDATE %s.ssl_certificate SET issuer_chain = $2 "
                 "WHERE id = $1 AND issuer_chain = '' AND $2 <> '' RETURNING id) "
                 "INSERT INTO %s.ssl_lifecycle_event (certificate_id, event_type, description) "
                 "SELECT id, 'chain_updated', 'Issuer chain filled in from a bundle (ssl_import_bundle)' FROM u "
                 "RETURNING certificate_id",
                 s, s),
        2, types);
    if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
    bundle_plans.schema = schema;
    bundle_plans.update_chain = plan;
    return plan;
}

OnConflict on_conflict_arg(FunctionCallInfo fcinfo) {
    if (PG_NARGS() < 2 || PG_ARGISNULL(1)) return OnConflict::Error;
    char* mode = text_to_cstring(PG_GETARG_TEXT_PP(1));
    if (strcmp(mode, "error") == 0) return OnConflict::Error;
    if (strcmp(mode, "skip") == 0) return OnConflict::Skip;
    if (strcmp(mode, "update_chain") == 0) return OnConflict::UpdateChain;
    // Checked before the bundle's key scan, so the statement (which carries
    // the bundle) is hidden; the value is echoed only when short and on one
    // line, so a key passed here by mistake is not echoed either.
    const bool echo = strlen(mode) <= 32 && strpbrk(mode, "\r\n") == nullptr;
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    echo ? errmsg("invalid value for on_conflict: \"%s\"", mode) : errmsg("invalid value for on_conflict"),
                    errdetail("Valid values are 'error', 'skip' and 'update_chain'."),
                    errhidestmt(true)));
    pg_unreachable();
}

void destroy_reader(void* arg) { static_cast<netbox_ssl::BundleReader*>(arg)->~BundleReader(); }

// Ids this call inserted, ascending (one backend's identity values only grow).
struct IdSet {
    int64* ids = nullptr;
    Size n = 0;
    Size cap = 0;
    bool ascending = true;
};

void id_add(IdSet* set, MemoryContext cxt, int64 id) {
    if (set->n == set->cap) {
        set->cap = set->cap == 0 ? 1024 : set->cap * 2;
        set->ids = set->ids == nullptr
                       ? static_cast<int64*>(MemoryContextAllocHuge(cxt, set->cap * sizeof(int64)))
                       : static_cast<int64*>(repalloc_huge(set->ids, set->cap * sizeof(int64)));
    }
    if (set->n > 0 && id <= set->ids[set->n - 1]) set->ascending = false;
    set->ids[set->n++] = id;
}

bool id_contains(const IdSet* set, int64 id) {
    if (!set->ascending) {  // the sequence was reset or cycled during the call
        for (Size i = 0; i < set->n; ++i) {
            if (set->ids[i] == id) return true;
        }
        return false;
    }
    Size lo = 0;
    Size hi = set->n;
    while (lo < hi) {
        const Size mid = lo + (hi - lo) / 2;
        if (set->ids[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < set->n && set->ids[lo] == id;
}

[[noreturn]] void raise_with_ordinality(CoreFailure* failure, InputForm form, int ordinality) {
    // Errors from the reader already name their item; others get it here.
    if (failure->item == 0 && failure->kind != netbox_ssl::ErrorKind::PrivateKey &&
        failure->kind != netbox_ssl::ErrorKind::Pkcs12 && !failure->out_of_memory) {
        char copy[sizeof failure->message];
        memcpy(copy, failure->message, sizeof copy);
        snprintf(failure->message, sizeof failure->message, "bundle item %d: %s", ordinality, copy);
        trim_partial_utf8(failure->message);
        failure->item = ordinality;
    }
    raise_core_error(failure, form);
}

Datum import_bundle(FunctionCallInfo fcinfo, InputForm form) {
    refuse_on_standby("ssl_import_bundle");
    require_arg(fcinfo, 0, "the bundle argument");
    const OnConflict mode = on_conflict_arg(fcinfo);
    text* tenant = optional_text_arg(fcinfo, 2);
    // The limit applies to each certificate (the reader checks it); the
    // bundle itself is bounded only by PostgreSQL's 1 GB value size.
    const InputBytes input = read_input_arg(fcinfo, 0, "the bundle argument", "bundle input", 0);
    const netbox_ssl::ParseOptions options = core_parse_options();

    InitMaterializedSRF(fcinfo, 0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

    MemoryContext bundle_cxt = AllocSetContextCreate(CurrentMemoryContext, "netbox_ssl bundle", ALLOCSET_DEFAULT_SIZES);
    MemoryContext row_cxt = AllocSetContextCreate(bundle_cxt, "netbox_ssl bundle row", ALLOCSET_DEFAULT_SIZES);
    void* reader_mem = MemoryContextAlloc(bundle_cxt, sizeof(netbox_ssl::BundleReader));
    auto* callback = static_cast<MemoryContextCallback*>(MemoryContextAlloc(bundle_cxt, sizeof(MemoryContextCallback)));

    netbox_ssl::BundleReader* reader = nullptr;
    CoreFailure failure;
    bool ok = run_core(&failure, [&] {
        reader = new (reader_mem)
            netbox_ssl::BundleReader(std::string_view(input.data, input.len), form == InputForm::Text, options);
    });
    if (!ok) raise_core_error(&failure, form);
    callback->func = destroy_reader;
    callback->arg = reader;
    MemoryContextRegisterResetCallback(bundle_cxt, callback);

    // Pass 1: the whole bundle is read (and every malformed item refused)
    // before anything is written.
    ok = run_core(&failure, [&] { reader->index_issuers(); });
    if (!ok) raise_core_error(&failure, form);
    const int total = reader->count();

    SPI_connect();
    SPIPlanPtr chain_plan = mode == OnConflict::UpdateChain ? update_chain_plan(fcinfo) : nullptr;
    // 1.6: certificates are stored by the batch, one statement per batch
    // (write_path.cpp). A batch ends after a CA certificate, so that the
    // certificates after it see it when they look up their authority by key
    // id, exactly as when each is imported by its own statement.
    const bool batched = write_path_usable(fcinfo);
    const int batch_max = batched ? kBatchSize : 1;
    auto** batch = static_cast<FlatCert**>(MemoryContextAlloc(bundle_cxt, sizeof(FlatCert*) * batch_max));
    auto** tenants = static_cast<text**>(MemoryContextAlloc(bundle_cxt, sizeof(text*) * batch_max));
    auto** locations = static_cast<text**>(MemoryContextAlloc(bundle_cxt, sizeof(text*) * batch_max));
    auto* ordinals = static_cast<int*>(MemoryContextAlloc(bundle_cxt, sizeof(int) * batch_max));
    auto* ids = static_cast<int64*>(MemoryContextAlloc(bundle_cxt, sizeof(int64) * batch_max));
    for (int i = 0; i < batch_max; ++i) {
        tenants[i] = tenant;
        locations[i] = nullptr;
    }
    IdSet inserted_ids;
    int imported = 0;
    int existing = 0;
    int updated = 0;
    bool done = false;
    while (!done) {
        // Parse up to one batch into the row context.
        int n = 0;
        MemoryContext caller_cxt = MemoryContextSwitchTo(row_cxt);
        while (n < batch_max) {
            CHECK_FOR_INTERRUPTS();
            auto* cert = static_cast<FlatCert*>(palloc0(sizeof(FlatCert)));
            bool has = false;
            ok = run_core(&failure, [&] {
                netbox_ssl::CertificateInfo info;
                has = reader->next(info);
                if (has) {
                    flatten_certificate(info, cert);
                    flatten_certificate_urls(info, cert);
                }
            });
            if (!ok) raise_with_ordinality(&failure, form, reader->ordinality());
            if (!has) {
                done = true;
                break;
            }
            batch[n] = cert;
            ordinals[n] = reader->ordinality();
            ++n;
            if (cert->is_ca) break;
        }
        MemoryContextSwitchTo(caller_cxt);
        if (n == 0) break;

        MemoryContextSwitchTo(row_cxt);
        if (batched) {
            write_certificates(fcinfo, batch, tenants, locations, n, false, ids);
        } else {
            for (int i = 0; i < n; ++i) {
                if (!import_flat_certificate(fcinfo, batch[i], tenant, &ids[i])) ids[i] = 0;
            }
        }
        for (int i = 0; i < n; ++i) {
            const FlatCert& cert = *batch[i];
            const int ordinality = ordinals[i];
            int64 id = ids[i];
            const char* outcome = "imported";
            if (id != 0) {
                id_add(&inserted_ids, bundle_cxt, id);
                ++imported;
            } else {
                if (!find_certificate_id(fcinfo, cert.fingerprint_sha256, &id)) {
                    ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                                    errmsg("bundle item %d: certificate with fingerprint %s was stored by a concurrent transaction",
                                           ordinality, text_to_cstring(cert.fingerprint_sha256)),
                                    errhidestmt(true)));
                }
                outcome = "exists";
                if (!id_contains(&inserted_ids, id)) {  // stored before this call
                    if (mode == OnConflict::Error) {
                        ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                                        errmsg("bundle item %d: certificate with fingerprint %s is already stored as id " INT64_FORMAT,
                                               ordinality, text_to_cstring(cert.fingerprint_sha256), id),
                                        errhint("Pass on_conflict => 'skip' to report stored certificates and go on, or "
                                                "'update_chain' to also fill in their missing issuer chains."),
                                        errhidestmt(true)));
                    }
                    if (mode == OnConflict::UpdateChain) {
                        Datum args[2] = {Int64GetDatum(id), PointerGetDatum(cert.issuer_chain)};
                        const int rc = SPI_execute_plan(chain_plan, args, nullptr, false, 0);
                        if (rc != SPI_OK_INSERT_RETURNING) {
                            elog(ERROR, "updating an issuer chain failed: %s", SPI_result_code_string(rc));
                        }
                        if (SPI_processed == 1) outcome = "chain_updated";
                        SPI_freetuptable(SPI_tuptable);
                    }
                }
                if (outcome[0] == 'c') {
                    ++updated;
                } else {
                    ++existing;
                }
            }

            Datum values[4] = {Int32GetDatum(ordinality), PointerGetDatum(cert.fingerprint_sha256), Int64GetDatum(id),
                               CStringGetTextDatum(outcome)};
            bool nulls[4] = {false, false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

            if (progress_every > 0 && ordinality % progress_every == 0 && ordinality < total) {
                ereport(NOTICE, (errmsg("ssl_import_bundle: %d of %d certificates done (%d imported, %d already stored, "
                                        "%d chains updated)",
                                        ordinality, total, imported, existing, updated)));
            }
        }
        MemoryContextSwitchTo(caller_cxt);
        MemoryContextReset(row_cxt);
    }
    SPI_finish();
    MemoryContextDelete(bundle_cxt);  // runs the reader's destructor
    return (Datum)0;
}

}  // namespace

void define_bundle_settings() {
    DefineCustomIntVariable("netbox_ssl.bundle_progress_every",
                            "ssl_import_bundle reports its progress as a NOTICE after this many certificates.",
                            "0 turns the reports off. They reach the client when client_min_messages is notice or lower.",
                            &progress_every, 10000, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

NETBOX_SSL_ENTRY(ssl_import_bundle_text) { return import_bundle(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_import_bundle_bytea) { return import_bundle(fcinfo, InputForm::Binary); }

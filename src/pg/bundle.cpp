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
#include "utils/array.h"
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

[[noreturn]] void raise_with_ordinality(CoreFailure* failure, InputForm form, int ordinality,
                                       const char* item = "bundle item") {
    // Errors from the reader already name their item; others get it here.
    if (failure->item == 0 && failure->kind != netbox_ssl::ErrorKind::PrivateKey &&
        failure->kind != netbox_ssl::ErrorKind::Pkcs12 && !failure->out_of_memory) {
        char copy[sizeof failure->message];
        memcpy(copy, failure->message, sizeof copy);
        snprintf(failure->message, sizeof failure->message, "%s %d: %s", item, ordinality, copy);
        trim_partial_utf8(failure->message);
        failure->item = ordinality;
    }
    raise_core_error(failure, form);
}

// One batch of parsed certificates on its way to the write path. A struct
// of fixed arrays: one allocation per call, reused by every batch.
struct Batch {
    FlatCert* certs[kBatchSize];
    text* tenants[kBatchSize];
    text* locations[kBatchSize];
    int ordinals[kBatchSize];
    int64 ids[kBatchSize];
    int n;
};

// What ssl_import_bundle and ssl_import_many share: the conflict mode, the
// result rows, the ids this call inserted and the progress report.
struct Sink {
    const char* function;  // names the call in the progress NOTICE
    const char* item;      // "bundle item" or "item": prefixes item errors
    bool chains;           // on_conflict 'update_chain' exists (the bundle)
    OnConflict mode;
    SPIPlanPtr chain_plan;
    bool batched;
    ReturnSetInfo* rsinfo;
    MemoryContext call_cxt;
    IdSet inserted_ids;
    int total;
    int imported;
    int existing;
    int updated;
};

// Stores one batch (one statement through the write path, or one
// import_flat_certificate per row on a pre-1.6 schema) and emits its result
// rows in item order, with the errors of one-by-one import.
void store_batch(FunctionCallInfo fcinfo, Sink* sink, Batch* b) {
    if (sink->batched) {
        write_certificates(fcinfo, b->certs, b->tenants, b->locations, b->n, false, b->ids);
    } else {
        for (int i = 0; i < b->n; ++i) {
            if (!import_flat_certificate(fcinfo, b->certs[i], b->tenants[i], &b->ids[i])) b->ids[i] = 0;
        }
    }
    for (int i = 0; i < b->n; ++i) {
        const FlatCert& cert = *b->certs[i];
        const int ordinality = b->ordinals[i];
        int64 id = b->ids[i];
        const char* outcome = "imported";
        if (id != 0) {
            id_add(&sink->inserted_ids, sink->call_cxt, id);
            ++sink->imported;
        } else {
            if (!find_certificate_id(fcinfo, cert.fingerprint_sha256, &id)) {
                ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                                errmsg("%s %d: certificate with fingerprint %s was stored by a concurrent transaction",
                                       sink->item, ordinality, text_to_cstring(cert.fingerprint_sha256)),
                                errhidestmt(true)));
            }
            outcome = "exists";
            if (!id_contains(&sink->inserted_ids, id)) {  // stored before this call
                if (sink->mode == OnConflict::Error) {
                    ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                                    errmsg("%s %d: certificate with fingerprint %s is already stored as id " INT64_FORMAT,
                                           sink->item, ordinality, text_to_cstring(cert.fingerprint_sha256), id),
                                    sink->chains
                                        ? errhint("Pass on_conflict => 'skip' to report stored certificates and go on, or "
                                                  "'update_chain' to also fill in their missing issuer chains.")
                                        : errhint("Pass on_conflict => 'skip' to report stored certificates and go on."),
                                    errhidestmt(true)));
                }
                if (sink->mode == OnConflict::UpdateChain) {
                    Datum args[2] = {Int64GetDatum(id), PointerGetDatum(cert.issuer_chain)};
                    const int rc = SPI_execute_plan(sink->chain_plan, args, nullptr, false, 0);
                    if (rc != SPI_OK_INSERT_RETURNING) {
                        elog(ERROR, "updating an issuer chain failed: %s", SPI_result_code_string(rc));
                    }
                    if (SPI_processed == 1) outcome = "chain_updated";
                    SPI_freetuptable(SPI_tuptable);
                }
            }
            if (outcome[0] == 'c') {
                ++sink->updated;
            } else {
                ++sink->existing;
            }
        }

        Datum values[4] = {Int32GetDatum(ordinality), PointerGetDatum(cert.fingerprint_sha256), Int64GetDatum(id),
                           CStringGetTextDatum(outcome)};
        bool nulls[4] = {false, false, false, false};
        tuplestore_putvalues(sink->rsinfo->setResult, sink->rsinfo->setDesc, values, nulls);

        if (progress_every > 0 && ordinality % progress_every == 0 && ordinality < sink->total) {
            ereport(NOTICE, (errmsg("%s: %d of %d certificates done (%d imported, %d already stored, "
                                    "%d chains updated)",
                                    sink->function, ordinality, sink->total, sink->imported, sink->existing,
                                    sink->updated)));
        }
    }
}

// The sink and batch of a call, in call_cxt; SPI connected.
Sink* start_sink(FunctionCallInfo fcinfo, const char* function, const char* item, OnConflict mode, text* tenant,
                 MemoryContext call_cxt, Batch** batch) {
    SPI_connect();
    auto* sink = static_cast<Sink*>(MemoryContextAllocZero(call_cxt, sizeof(Sink)));
    sink->function = function;
    sink->item = item;
    sink->chains = strcmp(function, "ssl_import_bundle") == 0;
    sink->mode = mode;
    sink->chain_plan = mode == OnConflict::UpdateChain ? update_chain_plan(fcinfo) : nullptr;
    // 1.6: certificates are stored by the batch, one statement per batch
    // (write_path.cpp).
    sink->batched = write_path_usable(fcinfo);
    sink->rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    sink->call_cxt = call_cxt;
    sink->inserted_ids = IdSet{};
    *batch = static_cast<Batch*>(MemoryContextAllocZero(call_cxt, sizeof(Batch)));
    for (int i = 0; i < kBatchSize; ++i) (*batch)->tenants[i] = tenant;
    return sink;
}

// A batch ends after a CA certificate, so that the certificates after it
// see it when they look up their authority by key id, exactly as when each
// is imported by its own statement; and after one row on a pre-1.6 schema.
bool batch_full(const Sink* sink, const Batch* b) {
    return b->n > 0 && (b->n == kBatchSize || !sink->batched || b->certs[b->n - 1]->is_ca);
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

    Batch* b = nullptr;
    Sink* sink = start_sink(fcinfo, "ssl_import_bundle", "bundle item", mode, tenant, bundle_cxt, &b);
    sink->total = total;
    bool done = false;
    while (!done) {
        // Parse up to one batch into the row context.
        b->n = 0;
        MemoryContext caller_cxt = MemoryContextSwitchTo(row_cxt);
        while (!batch_full(sink, b)) {
            CHECK_FOR_INTERRUPTS();
            auto* cert = static_cast<FlatCert*>(palloc0(sizeof(FlatCert)));
            bool has = false;
            ok = run_core(&failure, [&] {
                netbox_ssl::CertificateInfo info;
                has = reader->next(info);
                if (has) flatten_certificate(info, cert);
            });
            if (!ok) raise_with_ordinality(&failure, form, reader->ordinality());
            if (!has) {
                done = true;
                break;
            }
            b->certs[b->n] = cert;
            b->ordinals[b->n] = reader->ordinality();
            ++b->n;
        }
        if (b->n > 0) store_batch(fcinfo, sink, b);
        MemoryContextSwitchTo(caller_cxt);
        MemoryContextReset(row_cxt);
    }
    SPI_finish();
    MemoryContextDelete(bundle_cxt);  // runs the reader's destructor
    return (Datum)0;
}


// ssl_import_many: one certificate per array element (DER or PEM, as
// ssl_import takes it), stored by the batch through the write path, with
// the bundle's results and semantics: one row per element, duplicates
// within the array and against the table reported as the bundle does, and
// all or nothing (a bad element fails the call, naming its item). Meant for
// staging tables: SELECT * FROM ssl_import_many(ARRAY(SELECT der FROM t)).
Datum import_many(FunctionCallInfo fcinfo, InputForm form) {
    refuse_on_standby("ssl_import_many");
    require_arg(fcinfo, 0, "the certificates argument");
    const OnConflict mode = on_conflict_arg(fcinfo);
    if (mode == OnConflict::UpdateChain) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("on_conflict 'update_chain' is not available for ssl_import_many"),
                        errdetail("Valid values are 'error' and 'skip'; ssl_import_bundle fills in issuer chains."),
                        errhidestmt(true)));
    }
    text* tenant = optional_text_arg(fcinfo, 2);
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
    if (ARR_NDIM(array) > 1) {
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("the certificates argument must be a one-dimensional array"), errhidestmt(true)));
    }
    const int total = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
    const netbox_ssl::ParseOptions options = core_parse_options();

    InitMaterializedSRF(fcinfo, 0);
    MemoryContext call_cxt = AllocSetContextCreate(CurrentMemoryContext, "netbox_ssl many", ALLOCSET_DEFAULT_SIZES);
    MemoryContext row_cxt = AllocSetContextCreate(call_cxt, "netbox_ssl many batch", ALLOCSET_DEFAULT_SIZES);
    ArrayIterator it = array_create_iterator(array, 0, nullptr);

    Batch* b = nullptr;
    Sink* sink = start_sink(fcinfo, "ssl_import_many", "item", mode, tenant, call_cxt, &b);
    sink->total = total;
    int item = 0;
    bool done = false;
    CoreFailure failure;
    while (!done) {
        b->n = 0;
        MemoryContext caller_cxt = MemoryContextSwitchTo(row_cxt);
        while (!batch_full(sink, b)) {
            CHECK_FOR_INTERRUPTS();
            Datum value = 0;
            bool isnull = false;
            if (!array_iterate(it, &value, &isnull)) {
                done = true;
                break;
            }
            ++item;
            if (isnull) {
                ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                                errmsg("item %d: the certificate must not be NULL", item), errhidestmt(true)));
            }
            const struct varlena* bytes = reinterpret_cast<const struct varlena*>(DatumGetPointer(value));
            const std::string_view input(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
            auto* cert = static_cast<FlatCert*>(palloc0(sizeof(FlatCert)));
            const bool ok = run_core(&failure, [&] {
                const netbox_ssl::CertificateInfo info = form == InputForm::Text ? netbox_ssl::parse_pem(input, options)
                                                                                 : netbox_ssl::parse_der(input, options);
                flatten_certificate(info, cert);
            });
            if (!ok) raise_with_ordinality(&failure, form, item, "item");
            b->certs[b->n] = cert;
            b->ordinals[b->n] = item;
            ++b->n;
        }
        if (b->n > 0) store_batch(fcinfo, sink, b);
        MemoryContextSwitchTo(caller_cxt);
        MemoryContextReset(row_cxt);
    }
    SPI_finish();
    array_free_iterator(it);
    MemoryContextDelete(call_cxt);
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
NETBOX_SSL_ENTRY(ssl_import_many_text) { return import_many(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_import_many_bytea) { return import_many(fcinfo, InputForm::Binary); }

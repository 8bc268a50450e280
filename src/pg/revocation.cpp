// Revocation (issue "Trust", docs/revocation.md): the SQL-callable parsers
// of CRLs and OCSP responses behind ssl_crl_load and ssl_ocsp_record
// (src/sql/concepts/72_revocation.sql does the storing in SQL), and the
// stored revocation data as the chain validator's RevocationSource.
#include "pg/revocation.hpp"

#include "core/crl.hpp"
#include "core/ocsp.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

#include <string>

namespace {

bytea* core_bytea(const std::string& bytes) {
    auto* out = static_cast<bytea*>(core_alloc(VARHDRSZ + bytes.size()));
    SET_VARSIZE(out, VARHDRSZ + bytes.size());
    memcpy(VARDATA(out), bytes.data(), bytes.size());
    return out;
}

// One CRL as palloc'd values (built inside run_core).
struct FlatCrl {
    text* issuer;
    text* issuer_hash;
    text* authority_key_id;  // NULL when absent
    text* crl_number;        // NULL when absent
    TimestampTz this_update;
    bool has_next_update;
    TimestampTz next_update;
    text* signature_algorithm;
    bytea* der;
    int nentries;
    Datum* serials;
    Datum* revoked_at;
    Datum* reasons;
    bool* reason_nulls;
};

constexpr int kCrlColumns = 11;

FlatCrl flatten_crl(const netbox_ssl::CrlInfo& info) {
    FlatCrl out{};
    out.issuer = core_text(info.issuer);
    out.issuer_hash = core_text(info.issuer_hash);
    out.authority_key_id = core_text(info.authority_key_id);
    out.crl_number = core_text(info.crl_number);
    out.this_update = core_timestamptz(info.this_update, "CRL thisUpdate");
    out.has_next_update = info.next_update.has_value();
    if (info.next_update) out.next_update = core_timestamptz(*info.next_update, "CRL nextUpdate");
    out.signature_algorithm = core_text(info.signature_algorithm);
    out.der = core_bytea(info.der);
    const std::size_t n = info.entries.size();
    out.nentries = static_cast<int>(n);
    out.serials = static_cast<Datum*>(core_alloc(sizeof(Datum) * (n + 1)));
    out.revoked_at = static_cast<Datum*>(core_alloc(sizeof(Datum) * (n + 1)));
    out.reasons = static_cast<Datum*>(core_alloc(sizeof(Datum) * (n + 1)));
    out.reason_nulls = static_cast<bool*>(core_alloc(sizeof(bool) * (n + 1)));
    for (std::size_t i = 0; i < n; ++i) {
        const netbox_ssl::CrlEntry& e = info.entries[i];
        out.serials[i] = PointerGetDatum(core_text(e.serial));
        out.revoked_at[i] = TimestampTzGetDatum(core_timestamptz(e.revoked_at, "CRL revocationDate"));
        out.reason_nulls[i] = !e.reason.has_value();
        out.reasons[i] = e.reason ? PointerGetDatum(core_text(*e.reason)) : (Datum)0;
    }
    return out;
}

Datum parse_crl(FunctionCallInfo fcinfo, InputForm form) {
    const InputBytes input = read_input_arg(fcinfo, 0, "the CRL argument", "CRL input",
                                            static_cast<Size>(netbox_ssl_max_input_bytes));
    const netbox_ssl::ParseOptions options = core_parse_options();
    FlatCrl* crls = nullptr;
    int ncrls = 0;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const std::string_view bytes(input.data, input.len);
        const std::vector<netbox_ssl::CrlInfo> parsed = form == InputForm::Text
                                                            ? netbox_ssl::parse_crl_pem(bytes, options)
                                                            : netbox_ssl::parse_crl_der(bytes, options);
        crls = static_cast<FlatCrl*>(core_alloc(sizeof(FlatCrl) * parsed.size()));
        for (const netbox_ssl::CrlInfo& info : parsed) crls[ncrls++] = flatten_crl(info);
    });
    if (!ok) raise_core_error(&failure, form);

    InitMaterializedSRF(fcinfo, 0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int c = 0; c < ncrls; ++c) {
        const FlatCrl& crl = crls[c];
        Datum values[kCrlColumns];
        bool nulls[kCrlColumns] = {};
        values[0] = PointerGetDatum(crl.issuer);
        values[1] = PointerGetDatum(crl.issuer_hash);
        values[2] = PointerGetDatum(crl.authority_key_id);
        nulls[2] = crl.authority_key_id == nullptr;
        values[3] = PointerGetDatum(crl.crl_number);
        nulls[3] = crl.crl_number == nullptr;
        values[4] = TimestampTzGetDatum(crl.this_update);
        values[5] = TimestampTzGetDatum(crl.next_update);
        nulls[5] = !crl.has_next_update;
        values[6] = PointerGetDatum(crl.signature_algorithm);
        values[7] = PointerGetDatum(crl.der);
        values[8] = PointerGetDatum(construct_array(crl.serials, crl.nentries, TEXTOID, -1, false, TYPALIGN_INT));
        values[9] = PointerGetDatum(
            construct_array(crl.revoked_at, crl.nentries, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
        int dims[1] = {crl.nentries};
        int lbs[1] = {1};
        values[10] = PointerGetDatum(crl.nentries == 0
                                         ? construct_empty_array(TEXTOID)
                                         : construct_md_array(crl.reasons, crl.reason_nulls, 1, dims, lbs, TEXTOID, -1,
                                                              false, TYPALIGN_INT));
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    return (Datum)0;
}

// Two DER inputs of a verification: the object and the issuer certificate.
struct TwoInputs {
    InputBytes object;
    InputBytes issuer;
};

TwoInputs read_two(FunctionCallInfo fcinfo, const char* what, const char* input) {
    TwoInputs in;
    in.object = read_input_arg(fcinfo, 0, what, input, static_cast<Size>(netbox_ssl_max_input_bytes));
    in.issuer = read_input_arg(fcinfo, 1, "the issuer argument", "issuer certificate input",
                               static_cast<Size>(netbox_ssl_max_input_bytes));
    return in;
}

}  // namespace

// netbox_ssl_internal.ssl_crl_parse(text) / (bytea): one row per CRL.
NETBOX_SSL_ENTRY(ssl_crl_parse_text) { return parse_crl(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_crl_parse_binary) { return parse_crl(fcinfo, InputForm::Binary); }

// netbox_ssl_internal.ssl_crl_signature_valid(crl bytea, issuer bytea).
NETBOX_SSL_ENTRY(ssl_crl_signature_valid) {
    const TwoInputs in = read_two(fcinfo, "the CRL argument", "CRL input");
    bool valid = false;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        valid = netbox_ssl::crl_signature_valid(std::string_view(in.object.data, in.object.len),
                                                std::string_view(in.issuer.data, in.issuer.len));
    });
    if (!ok) raise_core_error(&failure, InputForm::Binary);
    PG_RETURN_BOOL(valid);
}

namespace {

struct FlatSingle {
    text* hash_algorithm;
    text* issuer_name_hash;
    text* issuer_key_hash;
    text* serial;
    text* status;
    bool has_revoked_at;
    TimestampTz revoked_at;
    text* reason;
    TimestampTz this_update;
    bool has_next_update;
    TimestampTz next_update;
};

constexpr int kOcspColumns = 12;

}  // namespace

// netbox_ssl_internal.ssl_ocsp_parse(response bytea): one row per
// SingleResponse; a non-successful response gives one row with only its
// response_status.
NETBOX_SSL_ENTRY(ssl_ocsp_parse) {
    const InputBytes input = read_input_arg(fcinfo, 0, "the response argument", "OCSP response",
                                            static_cast<Size>(netbox_ssl_max_input_bytes));
    const netbox_ssl::ParseOptions options = core_parse_options();
    text* response_status = nullptr;
    TimestampTz produced_at = 0;
    FlatSingle* singles = nullptr;
    int n = 0;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const netbox_ssl::OcspInfo info =
            netbox_ssl::parse_ocsp_response(std::string_view(input.data, input.len), options);
        response_status = core_text(info.response_status);
        if (info.response_status == "successful") produced_at = core_timestamptz(info.produced_at, "OCSP producedAt");
        singles = static_cast<FlatSingle*>(core_alloc(sizeof(FlatSingle) * (info.responses.size() + 1)));
        for (const netbox_ssl::OcspSingle& s : info.responses) {
            FlatSingle& f = singles[n++];
            f.hash_algorithm = core_text(s.hash_algorithm);
            f.issuer_name_hash = core_text(s.issuer_name_hash);
            f.issuer_key_hash = core_text(s.issuer_key_hash);
            f.serial = core_text(s.serial);
            f.status = core_text(s.status);
            f.has_revoked_at = s.revoked_at.has_value();
            f.revoked_at = s.revoked_at ? core_timestamptz(*s.revoked_at, "OCSP revocationTime") : 0;
            f.reason = core_text(s.reason);
            f.this_update = core_timestamptz(s.this_update, "OCSP thisUpdate");
            f.has_next_update = s.next_update.has_value();
            f.next_update = s.next_update ? core_timestamptz(*s.next_update, "OCSP nextUpdate") : 0;
        }
    });
    if (!ok) raise_core_error(&failure, InputForm::Binary);

    InitMaterializedSRF(fcinfo, 0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int i = 0; i < (n == 0 ? 1 : n); ++i) {
        Datum values[kOcspColumns] = {};
        bool nulls[kOcspColumns];
        for (bool& b : nulls) b = true;
        values[0] = PointerGetDatum(response_status);
        nulls[0] = false;
        if (n > 0) {
            const FlatSingle& f = singles[i];
            values[1] = TimestampTzGetDatum(produced_at);
            values[2] = PointerGetDatum(f.hash_algorithm);
            values[3] = PointerGetDatum(f.issuer_name_hash);
            values[4] = PointerGetDatum(f.issuer_key_hash);
            values[5] = PointerGetDatum(f.serial);
            values[6] = PointerGetDatum(f.status);
            for (int k = 1; k <= 6; ++k) nulls[k] = false;
            values[7] = TimestampTzGetDatum(f.revoked_at);
            nulls[7] = !f.has_revoked_at;
            values[8] = PointerGetDatum(f.reason);
            nulls[8] = f.reason == nullptr;
            values[9] = TimestampTzGetDatum(f.this_update);
            nulls[9] = false;
            values[10] = TimestampTzGetDatum(f.next_update);
            nulls[10] = !f.has_next_update;
            values[11] = Int32GetDatum(i + 1);
            nulls[11] = false;
        }
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    return (Datum)0;
}

// netbox_ssl_internal.ssl_ocsp_verify(response bytea, issuer bytea, at
// timestamptz, OUT ok boolean, OUT failure text, OUT responder text).
NETBOX_SSL_ENTRY(ssl_ocsp_verify) {
    const TwoInputs in = read_two(fcinfo, "the response argument", "OCSP response");
    require_arg(fcinfo, 2, "the at argument");
    const std::int64_t at = unix_seconds(PG_GETARG_TIMESTAMPTZ(2));
    bool verified = false;
    text* why = nullptr;
    text* responder = nullptr;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const netbox_ssl::OcspVerification v = netbox_ssl::verify_ocsp_response(
            std::string_view(in.object.data, in.object.len), std::string_view(in.issuer.data, in.issuer.len), at);
        verified = v.ok;
        if (!v.ok) why = core_text(v.failure);
        if (v.ok) responder = core_text(v.responder);
    });
    if (!ok) raise_core_error(&failure, InputForm::Binary);
    TupleDesc desc = composite_result_desc(fcinfo);
    Datum values[3] = {BoolGetDatum(verified), PointerGetDatum(why), PointerGetDatum(responder)};
    bool nulls[3] = {false, why == nullptr, responder == nullptr};
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

// netbox_ssl_internal.ssl_ocsp_id_matches(hash_algorithm, issuer_name_hash,
// issuer_key_hash, issuer bytea): whether a CertID names this issuer.
NETBOX_SSL_ENTRY(ssl_ocsp_id_matches) {
    require_arg(fcinfo, 0, "the hash_algorithm argument");
    require_arg(fcinfo, 1, "the issuer_name_hash argument");
    require_arg(fcinfo, 2, "the issuer_key_hash argument");
    const InputBytes alg = read_text_arg(fcinfo, 0);
    const InputBytes name_hash = read_text_arg(fcinfo, 1);
    const InputBytes key_hash = read_text_arg(fcinfo, 2);
    const InputBytes issuer = read_input_arg(fcinfo, 3, "the issuer argument", "issuer certificate input",
                                             static_cast<Size>(netbox_ssl_max_input_bytes));
    bool matches = false;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        netbox_ssl::OcspSingle single;
        single.hash_algorithm.assign(alg.data, alg.len);
        single.issuer_name_hash.assign(name_hash.data, name_hash.len);
        single.issuer_key_hash.assign(key_hash.data, key_hash.len);
        matches = netbox_ssl::ocsp_single_matches_issuer(single, std::string_view(issuer.data, issuer.len));
    });
    if (!ok) raise_core_error(&failure, InputForm::Binary);
    PG_RETURN_BOOL(matches);
}

// ---------------------------------------------------------------------------
// The stored revocation data as the validator's RevocationSource
// ---------------------------------------------------------------------------

namespace {

// Kept plan of netbox_ssl_internal.ssl_revocation_lookup($1, $2, $3).
SPIPlanPtr lookup_plan = nullptr;

struct LookupCall {
    // in
    const char* issuer_fingerprint;
    const char* serial;
    TimestampTz at;
    // out (palloc'd in the caller's context)
    char status[16];
    char detail[512];
};

// Runs inside guarded_pg_call: may raise; touches no C++ object.
void lookup_in_pg(void* arg) {
    auto* call = static_cast<LookupCall*>(arg);
    MemoryContext caller = CurrentMemoryContext;
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    if (lookup_plan == nullptr) {
        Oid types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};
        SPIPlanPtr plan = SPI_prepare(
            "SELECT status, detail FROM netbox_ssl_internal.ssl_revocation_lookup($1, $2, $3)", 3, types);
        if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
        lookup_plan = plan;
    }
    Datum args[3] = {CStringGetTextDatum(call->issuer_fingerprint), CStringGetTextDatum(call->serial),
                     TimestampTzGetDatum(call->at)};
    const int rc = SPI_execute_plan(lookup_plan, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "revocation lookup failed: %s", SPI_result_code_string(rc));
    bool isnull = false;
    Datum status = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    MemoryContext spi = MemoryContextSwitchTo(caller);
    strlcpy(call->status, isnull ? "no_data" : TextDatumGetCString(status), sizeof call->status);
    Datum detail = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
    strlcpy(call->detail, isnull ? "" : TextDatumGetCString(detail), sizeof call->detail);
    MemoryContextSwitchTo(spi);
    SPI_finish();
}

// Whether any usable CRL or OCSP answer exists, asked once per command of
// the transaction (ssl_validate_all validates thousands of certificates per
// command; a single ssl_validate_chain asks once). Forgotten at transaction
// end; a CRL loaded earlier in the transaction is seen, as the command id
// has moved on since.
struct DataExistsCache {
    bool valid = false;
    CommandId command = InvalidCommandId;
    bool exists = false;
};
DataExistsCache data_exists_cache;
SPIPlanPtr exists_plan = nullptr;

void forget_data_exists(XactEvent /*event*/, void* /*arg*/) { data_exists_cache.valid = false; }

// Runs inside guarded_pg_call: may raise; touches no C++ object.
void data_exists_in_pg(void* arg) {
    auto* exists = static_cast<bool*>(arg);
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    if (exists_plan == nullptr) {
        SPIPlanPtr plan = SPI_prepare("SELECT netbox_ssl_internal.ssl_revocation_data_exists()", 0, nullptr);
        if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        if (SPI_keepplan(plan) != 0) elog(ERROR, "SPI_keepplan failed");
        exists_plan = plan;
    }
    const int rc = SPI_execute_plan(exists_plan, nullptr, nullptr, true, 1);
    if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "revocation data check failed: %s", SPI_result_code_string(rc));
    bool isnull = false;
    const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    *exists = !isnull && DatumGetBool(d);
    SPI_finish();
}

bool revocation_data_exists() {
    static bool callback_registered = false;
    if (!callback_registered) {
        RegisterXactCallback(forget_data_exists, nullptr);
        callback_registered = true;
    }
    const CommandId command = GetCurrentCommandId(false);
    if (!data_exists_cache.valid || data_exists_cache.command != command) {
        bool exists = false;
        guarded_pg_call(data_exists_in_pg, &exists);  // throws a core Error on a PostgreSQL error
        data_exists_cache.valid = true;
        data_exists_cache.command = command;
        data_exists_cache.exists = exists;
    }
    return data_exists_cache.exists;
}

class StoredRevocationData final : public netbox_ssl::RevocationSource {
public:
    netbox_ssl::RevocationAnswer lookup(const std::string& issuer_fingerprint, const std::string& serial,
                                        std::int64_t at) const override {
        if (!revocation_data_exists()) return {};
        LookupCall call{};
        call.issuer_fingerprint = issuer_fingerprint.c_str();
        call.serial = serial.c_str();
        call.at = core_timestamptz(at, "validation");
        guarded_pg_call(lookup_in_pg, &call);  // throws a core Error (or Cancelled) on a PostgreSQL error
        netbox_ssl::RevocationAnswer answer;
        const std::string status(call.status);
        if (status == "revoked") {
            answer.kind = netbox_ssl::RevocationAnswer::Kind::Revoked;
            answer.detail = call.detail;
        } else if (status == "good") {
            answer.kind = netbox_ssl::RevocationAnswer::Kind::Good;
        }
        return answer;
    }
};

}  // namespace

std::unique_ptr<netbox_ssl::RevocationSource> stored_revocation_source() {
    return std::make_unique<StoredRevocationData>();
}

// netbox_ssl_internal.ssl_revocation_status(issuer_fingerprint text, serial
// text, at timestamptz, OUT status text, OUT detail text): the answer the
// chain validator gets, through the same C++ source (for tests and tools).
NETBOX_SSL_ENTRY(ssl_revocation_status) {
    require_arg(fcinfo, 0, "the issuer_fingerprint argument");
    require_arg(fcinfo, 1, "the serial argument");
    require_arg(fcinfo, 2, "the at argument");
    char* fp = text_to_cstring(PG_GETARG_TEXT_PP(0));
    char* serial = text_to_cstring(PG_GETARG_TEXT_PP(1));
    const std::int64_t at = unix_seconds(PG_GETARG_TIMESTAMPTZ(2));
    const char* status = "no_data";
    text* detail = nullptr;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const std::unique_ptr<netbox_ssl::RevocationSource> source = stored_revocation_source();
        const netbox_ssl::RevocationAnswer answer = source->lookup(fp, serial, at);
        switch (answer.kind) {
        case netbox_ssl::RevocationAnswer::Kind::Revoked:
            status = "revoked";
            detail = core_text(answer.detail);
            break;
        case netbox_ssl::RevocationAnswer::Kind::Good: status = "good"; break;
        case netbox_ssl::RevocationAnswer::Kind::NoData: break;
        }
    });
    if (!ok) raise_core_error(&failure, InputForm::Text, CoreErrorStyle::Chain);
    TupleDesc desc = composite_result_desc(fcinfo);
    Datum values[2] = {CStringGetTextDatum(status), PointerGetDatum(detail)};
    bool nulls[2] = {false, detail == nullptr};
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

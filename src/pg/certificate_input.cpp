// The C++/PostgreSQL boundary for certificate input, and ssl_parse.
//
// Shape of every entry point: read and detoast the arguments while no C++
// object is alive; run the core inside run_core(), which catches every
// exception into plain storage; leave C++ scope; only then ereport or build
// Datums. Memory handed across is allocated with MCXT_ALLOC_NO_OOM, which
// returns NULL instead of raising, so no longjmp can skip a destructor.
#include "core/certificate.hpp"

#include "pg/adapter.hpp"
#include "pg/core_call.hpp"

#include <cstdio>
#include <cstring>
#include <new>

extern "C" {
#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "tcop/tcopprot.h"

PG_FUNCTION_INFO_V1(ssl_parse_text);
PG_FUNCTION_INFO_V1(ssl_parse_bytea);
}

namespace {

[[noreturn]] void raise_core_failure(const CoreFailure* f, InputForm form) {
    raise_if_cancelled(f);
    using netbox_ssl::ErrorKind;
    if (f->out_of_memory) {
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory while parsing a certificate"), errhidestmt(true)));
    }
    int code = ERRCODE_INTERNAL_ERROR;
    const char* hint = nullptr;
    switch (f->kind) {
    case ErrorKind::Malformed:
        code = form == InputForm::Text ? ERRCODE_INVALID_TEXT_REPRESENTATION : ERRCODE_INVALID_BINARY_REPRESENTATION;
        break;
    case ErrorKind::PrivateKey:
    case ErrorKind::Pkcs12:
        code = ERRCODE_INVALID_PARAMETER_VALUE;
        break;
    case ErrorKind::TooLarge:
        code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        hint = "Raise the setting netbox_ssl.max_input_bytes if this input is genuine.";
        break;
    case ErrorKind::Internal:
        break;
    }
    // A statement that carried certificate input may also carry a key the
    // core did not get to (or that sits in another argument), so it is never
    // copied into the server log (log_min_error_statement would log it); a
    // key error hides the context too.
    const bool secret = f->kind == ErrorKind::PrivateKey || f->kind == ErrorKind::Pkcs12;
    ereport(ERROR, (errcode(code), errmsg("%s", f->message),
                    f->detail[0] != '\0' ? errdetail("%s", f->detail) : 0,
                    hint != nullptr ? errhint("%s", hint) : 0,
                    errhidestmt(true), errhidecontext(secret)));
    pg_unreachable();
}

// palloc that reports exhaustion as std::bad_alloc instead of longjmp.
void* alloc_or_throw(std::size_t size) {
    if (size >= MaxAllocSize) throw netbox_ssl::Error(netbox_ssl::ErrorKind::TooLarge, "parsed certificate is too large to store");
    void* p = palloc_extended(size, MCXT_ALLOC_NO_OOM);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

text* to_text(const std::string& s) {
    auto* t = static_cast<text*>(alloc_or_throw(VARHDRSZ + s.size()));
    SET_VARSIZE(t, VARHDRSZ + s.size());
    std::memcpy(VARDATA(t), s.data(), s.size());
    return t;
}

text* to_text(const std::optional<std::string>& s) { return s ? to_text(*s) : nullptr; }

TimestampTz to_timestamptz(std::int64_t unix_seconds, const char* which) {
    constexpr std::int64_t kEpochShift = static_cast<std::int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
    // Only guards the multiplication below against overflow (about year
    // 287,000); IS_VALID_TIMESTAMP then applies PostgreSQL's own range,
    // which holds every date X.509 can express (up to 9999-12-31).
    constexpr std::int64_t kLimit = INT64CONST(9000000000000);
    if (unix_seconds > kLimit || unix_seconds < -kLimit) {
        throw netbox_ssl::Error(netbox_ssl::ErrorKind::Malformed, std::string("certificate's ") + which + " date is out of range");
    }
    TimestampTz ts = (unix_seconds - kEpochShift) * USECS_PER_SEC;
    if (!IS_VALID_TIMESTAMP(ts)) {
        throw netbox_ssl::Error(netbox_ssl::ErrorKind::Malformed, std::string("certificate's ") + which + " date is out of range");
    }
    return ts;
}

void flatten(const netbox_ssl::CertificateInfo& info, FlatCert* out) {
    out->common_name = to_text(info.common_name);
    out->subject = to_text(info.subject);
    out->issuer = to_text(info.issuer);
    out->serial_number = to_text(info.serial_number);
    out->fingerprint_sha256 = to_text(info.fingerprint_sha256);
    out->valid_from = to_timestamptz(info.valid_from, "notBefore");
    out->valid_to = to_timestamptz(info.valid_to, "notAfter");
    out->nsans = static_cast<int>(info.sans.size());
    out->sans = static_cast<text**>(alloc_or_throw(sizeof(text*) * (info.sans.size() + 1)));
    for (std::size_t i = 0; i < info.sans.size(); ++i) out->sans[i] = to_text(info.sans[i]);
    out->algorithm = to_text(info.algorithm);
    out->has_key_size = info.key_size.has_value();
    out->key_size = info.key_size.value_or(0);
    out->signature_algorithm = to_text(info.signature_algorithm);
    out->is_ca = info.is_ca;
    out->subject_key_id = to_text(info.subject_key_id);
    out->authority_key_id = to_text(info.authority_key_id);
    out->spki_sha256 = to_text(info.spki_sha256);
    out->pem_content = to_text(info.pem_content);
    out->issuer_chain = to_text(info.issuer_chain);
    out->issuer_cn = to_text(info.issuer_cn);
    out->issuer_org = to_text(info.issuer_org);
    out->tbs_sha256 = to_text(info.tbs_sha256);
}

Datum ssl_parse_common(FunctionCallInfo fcinfo, InputForm form) {
    FlatCert cert;
    read_certificate_arg(fcinfo, 0, form, &cert);

    TupleDesc desc = nullptr;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("ssl_parse must be called in a context that accepts a composite result"), errhidestmt(true)));
    }
    desc = BlessTupleDesc(desc);
    Datum values[kCertColumns];
    bool nulls[kCertColumns];
    flat_cert_values(&cert, values, nulls);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

}  // namespace

void read_certificate_arg(FunctionCallInfo fcinfo, int argno, InputForm form, FlatCert* out) {
    if (PG_ARGISNULL(argno)) {
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("the certificate argument must not be NULL"), errhidestmt(true)));
    }
    // The limit is checked on the stored size, before detoasting, so an
    // oversized value costs no decompression and no parsing.
    const Size raw_size = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ;
    const Size limit = static_cast<Size>(netbox_ssl_max_input_bytes);
    if (raw_size > limit) {
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("certificate input is %zu bytes, more than the limit of %zu bytes", raw_size, limit),
                        errhint("Raise the setting netbox_ssl.max_input_bytes if this input is genuine."),
                        errhidestmt(true)));
    }
    struct varlena* arg = PG_GETARG_VARLENA_PP(argno);
    const char* data = VARDATA_ANY(arg);
    const std::size_t len = VARSIZE_ANY_EXHDR(arg);
    const int encoding = GetDatabaseEncoding();
    const bool ascii_only = encoding != PG_UTF8 && encoding != PG_SQL_ASCII;

    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        netbox_ssl::ParseOptions options;
        options.max_input_bytes = limit;
        options.ascii_only = ascii_only;
        const std::string_view input(data, len);
        flatten(form == InputForm::Text ? netbox_ssl::parse_pem(input, options) : netbox_ssl::parse_der(input, options), out);
    });
    if (!ok) raise_core_failure(&failure, form);
}

void flat_cert_values(const FlatCert* c, Datum* values, bool* nulls) {
    auto put_text = [&](int i, text* t) {
        nulls[i] = t == nullptr;
        values[i] = t == nullptr ? (Datum)0 : PointerGetDatum(t);
    };
    Datum* san_datums = static_cast<Datum*>(palloc(sizeof(Datum) * (c->nsans + 1)));
    for (int i = 0; i < c->nsans; ++i) san_datums[i] = PointerGetDatum(c->sans[i]);

    put_text(0, c->common_name);
    put_text(1, c->subject);
    put_text(2, c->issuer);
    put_text(3, c->serial_number);
    put_text(4, c->fingerprint_sha256);
    values[5] = TimestampTzGetDatum(c->valid_from);
    nulls[5] = false;
    values[6] = TimestampTzGetDatum(c->valid_to);
    nulls[6] = false;
    values[7] = PointerGetDatum(construct_array(san_datums, c->nsans, TEXTOID, -1, false, TYPALIGN_INT));
    nulls[7] = false;
    put_text(8, c->algorithm);
    values[9] = Int32GetDatum(c->key_size);
    nulls[9] = !c->has_key_size;
    put_text(10, c->signature_algorithm);
    values[11] = BoolGetDatum(c->is_ca);
    nulls[11] = false;
    put_text(12, c->subject_key_id);
    put_text(13, c->authority_key_id);
    put_text(14, c->spki_sha256);
    put_text(15, c->pem_content);
    put_text(16, c->issuer_chain);
    put_text(17, c->issuer_cn);
    put_text(18, c->issuer_org);
    put_text(19, c->tbs_sha256);
}

extern "C" Datum ssl_parse_text(PG_FUNCTION_ARGS) { return ssl_parse_common(fcinfo, InputForm::Text); }

extern "C" Datum ssl_parse_bytea(PG_FUNCTION_ARGS) { return ssl_parse_common(fcinfo, InputForm::Binary); }

// Exposed for the bundle and CSR entry points (core_call.hpp).
void raise_core_error(const CoreFailure* failure, InputForm form) { raise_core_failure(failure, form); }
void flatten_certificate(const netbox_ssl::CertificateInfo& info, FlatCert* out) { flatten(info, out); }
text* core_text(const std::string& s) { return to_text(s); }
text* core_text(const std::optional<std::string>& s) { return to_text(s); }

// ---------------------------------------------------------------------------
// Defence in depth for the server log (security item 5).
//
// Every entry point that takes certificate text hides the statement on the
// errors it raises itself. Errors raised elsewhere while such a statement
// runs (a PL/pgSQL RAISE, a constraint, a cast of another argument) cannot
// set errhidestmt, so this emit_log_hook hides the statement of any message
// whose statement text looks like it carries key material: PEM armour
// ("-----BEGIN", any letter case) or a run of 64 or more base64/hex
// characters (a DER key as a bytea literal or base64 string). Only the
// STATEMENT line is dropped; the message itself is still logged. The hook is
// in place once the library is loaded in the backend (any netbox_ssl C
// function, or session_preload_libraries = 'netbox_ssl').
// ---------------------------------------------------------------------------
namespace {

emit_log_hook_type previous_emit_log_hook = nullptr;

bool statement_may_hold_key(const char* s) {
    static const char armour[] = "-----begin";
    std::size_t run = 0;
    for (const char* p = s; *p != '\0'; ++p) {
        const char c = *p;
        if (c == '-' && pg_strncasecmp(p, armour, sizeof armour - 1) == 0) return true;
        const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        run = b64 ? run + 1 : 0;
        if (run >= 64) return true;
    }
    return false;
}

void hide_key_statements(ErrorData* edata) {
    if (!edata->hide_stmt && debug_query_string != nullptr && statement_may_hold_key(debug_query_string)) {
        edata->hide_stmt = true;
    }
    if (previous_emit_log_hook != nullptr) previous_emit_log_hook(edata);
}

}  // namespace

void install_key_log_hook() {
    previous_emit_log_hook = emit_log_hook;
    emit_log_hook = hide_key_statements;
}

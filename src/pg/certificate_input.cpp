// Certificate input (read_certificate_arg, FlatCert) and ssl_parse, through
// the boundary helper (boundary.hpp): arguments are read and detoasted while
// no C++ object is alive, the core runs inside run_core(), and only after the
// C++ scope is left do we ereport or build Datums.
#include "core/certificate.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "tcop/tcopprot.h"
}

void flatten_certificate(const netbox_ssl::CertificateInfo& info, FlatCert* out) {
    out->common_name = core_text(info.common_name);
    out->subject = core_text(info.subject);
    out->issuer = core_text(info.issuer);
    out->serial_number = core_text(info.serial_number);
    out->fingerprint_sha256 = core_text(info.fingerprint_sha256);
    out->valid_from = core_timestamptz(info.valid_from, "notBefore");
    out->valid_to = core_timestamptz(info.valid_to, "notAfter");
    out->nsans = static_cast<int>(info.sans.size());
    out->sans = static_cast<text**>(core_alloc(sizeof(text*) * (info.sans.size() + 1)));
    for (std::size_t i = 0; i < info.sans.size(); ++i) out->sans[i] = core_text(info.sans[i]);
    out->algorithm = core_text(info.algorithm);
    out->has_key_size = info.key_size.has_value();
    out->key_size = info.key_size.value_or(0);
    out->signature_algorithm = core_text(info.signature_algorithm);
    out->is_ca = info.is_ca;
    out->subject_key_id = core_text(info.subject_key_id);
    out->authority_key_id = core_text(info.authority_key_id);
    out->spki_sha256 = core_text(info.spki_sha256);
    out->pem_content = core_text(info.pem_content);
    out->issuer_chain = core_text(info.issuer_chain);
    out->issuer_cn = core_text(info.issuer_cn);
    out->issuer_org = core_text(info.issuer_org);
    out->tbs_sha256 = core_text(info.tbs_sha256);
    auto text_list = [](const std::vector<std::string>& items, int* n) {
        *n = static_cast<int>(items.size());
        auto** list = static_cast<text**>(core_alloc(sizeof(text*) * (items.size() + 1)));
        for (std::size_t i = 0; i < items.size(); ++i) list[i] = core_text(items[i]);
        return list;
    };
    out->crl_urls = text_list(info.crl_urls, &out->ncrl_urls);
    out->ocsp_urls = text_list(info.ocsp_urls, &out->nocsp_urls);
    out->ca_issuers_urls = text_list(info.ca_issuers_urls, &out->nca_issuers_urls);
}

void read_certificate_arg(FunctionCallInfo fcinfo, int argno, InputForm form, FlatCert* out) {
    const InputBytes input = read_input_arg(fcinfo, argno, "the certificate argument", "certificate input",
                                            static_cast<Size>(netbox_ssl_max_input_bytes));
    const netbox_ssl::ParseOptions options = core_parse_options();
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const std::string_view bytes(input.data, input.len);
        const netbox_ssl::CertificateInfo info = form == InputForm::Text ? netbox_ssl::parse_pem(bytes, options)
                                                                         : netbox_ssl::parse_der(bytes, options);
        flatten_certificate(info, out);
    });
    if (!ok) raise_core_error(&failure, form);
}

namespace {

Datum ssl_parse_common(FunctionCallInfo fcinfo, InputForm form) {
    FlatCert cert;
    read_certificate_arg(fcinfo, 0, form, &cert);
    // The blessed result descriptor, looked up once per call site and query
    // (fn_extra lives as long as the FmgrInfo), not once per row.
    if (fcinfo->flinfo == nullptr) elog(ERROR, "ssl_parse called without function call information");
    auto desc = static_cast<TupleDesc>(fcinfo->flinfo->fn_extra);
    if (desc == nullptr) {
        const MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
        desc = CreateTupleDescCopy(composite_result_desc(fcinfo));
        desc = BlessTupleDesc(desc);
        MemoryContextSwitchTo(old);
        fcinfo->flinfo->fn_extra = desc;
    }
    // A schema not yet updated to 1.6 has the 20 attributes of 1.5: the
    // values past desc->natts are not read.
    if (desc->natts > kParseColumns) elog(ERROR, "ssl_certificate_info has unexpected attributes");
    Datum values[kParseColumns];
    bool nulls[kParseColumns];
    flat_cert_values(&cert, values, nulls);
    flat_cert_url_values(&cert, values + kCertColumns, nulls + kCertColumns);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

}  // namespace

void flat_cert_values(const FlatCert* c, Datum* values, bool* nulls) {
    auto put_text = [&](int i, text* t) {
        nulls[i] = t == nullptr;
        values[i] = t == nullptr ? (Datum)0 : PointerGetDatum(t);
    };
    put_text(0, c->common_name);
    put_text(1, c->subject);
    put_text(2, c->issuer);
    put_text(3, c->serial_number);
    put_text(4, c->fingerprint_sha256);
    values[5] = TimestampTzGetDatum(c->valid_from);
    nulls[5] = false;
    values[6] = TimestampTzGetDatum(c->valid_to);
    nulls[6] = false;
    values[7] = text_array_datum(c->sans, c->nsans);
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

void flat_cert_url_values(const FlatCert* c, Datum* values, bool* nulls) {
    values[0] = text_array_datum(c->crl_urls, c->ncrl_urls);
    values[1] = text_array_datum(c->ocsp_urls, c->nocsp_urls);
    values[2] = text_array_datum(c->ca_issuers_urls, c->nca_issuers_urls);
    nulls[0] = nulls[1] = nulls[2] = false;
}

NETBOX_SSL_ENTRY(ssl_parse_text) { return ssl_parse_common(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_parse_bytea) { return ssl_parse_common(fcinfo, InputForm::Binary); }

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

// ssl_parse_csr: certificate signing requests, text (PEM) or bytea (DER).
// Through the boundary helper (boundary.hpp): arguments read first, the
// core run inside run_core, errors raised after the C++ scope is left.
#include "core/csr.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
}

namespace {

// Columns of ssl_csr_info, in order.
constexpr int kCsrColumns = 10;

struct FlatCsr {
    text* subject;
    text* common_name;
    int nsans;
    text** sans;
    text* algorithm;
    bool has_key_size;
    int32 key_size;
    text* spki_sha256;
    text* signature_algorithm;
    bool signature_valid;
    text* fingerprint_sha256;
    text* pem_content;
};

void flatten_csr(const netbox_ssl::CsrInfo& info, FlatCsr* out) {
    out->subject = core_text(info.subject);
    out->common_name = core_text(info.common_name);
    out->nsans = static_cast<int>(info.sans.size());
    out->sans = static_cast<text**>(core_alloc(sizeof(text*) * (info.sans.size() + 1)));
    for (std::size_t i = 0; i < info.sans.size(); ++i) out->sans[i] = core_text(info.sans[i]);
    out->algorithm = core_text(info.algorithm);
    out->has_key_size = info.key_size.has_value();
    out->key_size = info.key_size.value_or(0);
    out->spki_sha256 = core_text(info.spki_sha256);
    out->signature_algorithm = core_text(info.signature_algorithm);
    out->signature_valid = info.signature_valid;
    out->fingerprint_sha256 = core_text(info.fingerprint_sha256);
    out->pem_content = core_text(info.pem_content);
}

Datum parse_csr(FunctionCallInfo fcinfo, InputForm form) {
    const InputBytes input = read_input_arg(fcinfo, 0, "the certificate request argument", "certificate request input",
                                            static_cast<Size>(netbox_ssl_max_input_bytes));
    const netbox_ssl::ParseOptions options = core_parse_options();

    FlatCsr csr;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const std::string_view bytes(input.data, input.len);
        flatten_csr(form == InputForm::Text ? netbox_ssl::parse_csr_pem(bytes, options)
                                            : netbox_ssl::parse_csr_der(bytes, options),
                    &csr);
    });
    if (!ok) raise_core_error(&failure, form);

    TupleDesc desc = composite_result_desc(fcinfo);
    Datum values[kCsrColumns];
    bool nulls[kCsrColumns] = {};
    values[0] = PointerGetDatum(csr.subject);
    values[1] = PointerGetDatum(csr.common_name);
    nulls[1] = csr.common_name == nullptr;
    values[2] = text_array_datum(csr.sans, csr.nsans);
    values[3] = PointerGetDatum(csr.algorithm);
    values[4] = Int32GetDatum(csr.key_size);
    nulls[4] = !csr.has_key_size;
    values[5] = PointerGetDatum(csr.spki_sha256);
    values[6] = PointerGetDatum(csr.signature_algorithm);
    values[7] = BoolGetDatum(csr.signature_valid);
    values[8] = PointerGetDatum(csr.fingerprint_sha256);
    values[9] = PointerGetDatum(csr.pem_content);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

}  // namespace

NETBOX_SSL_ENTRY(ssl_parse_csr_text) { return parse_csr(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_parse_csr_bytea) { return parse_csr(fcinfo, InputForm::Binary); }

// ssl_netbox_fields: a certificate's columns in the NetBox SSL plugin's own
// formats (core/netbox_format.hpp, docs/netbox-formats.md), for the NetBox
// bridge. The argument goes through read_certificate_arg, exactly as for
// ssl_parse (NULL, size limit, private keys, malformed input: same SQLSTATEs
// and messages); the plugin's formats are then computed from the leaf that
// ssl_parse chose, inside run_core, and raised or returned only after the
// C++ scope is left.
#include "core/netbox_format.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
}

namespace {

// Columns of the ssl_netbox_fields type, in order.
constexpr int kNetboxColumns = 11;

struct FlatNetbox {
    text* common_name;
    text* serial_number;
    text* issuer;
    int nsans;
    text** sans;
    bool has_key_size;
    int32 key_size;
    text* algorithm;
    text* pem_content;
    text* issuer_chain;
};

std::string_view text_view(const text* t) {
    return t == nullptr ? std::string_view() : std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

void flatten_netbox(const netbox_ssl::NetboxFields& f, FlatNetbox* out) {
    out->common_name = core_text(f.common_name);
    out->serial_number = core_text(f.serial_number);
    out->issuer = core_text(f.issuer);
    out->nsans = static_cast<int>(f.sans.size());
    out->sans = static_cast<text**>(core_alloc(sizeof(text*) * (f.sans.size() + 1)));
    for (std::size_t i = 0; i < f.sans.size(); ++i) out->sans[i] = core_text(f.sans[i]);
    out->has_key_size = f.key_size.has_value();
    out->key_size = f.key_size.value_or(0);
    out->algorithm = core_text(f.algorithm);
    out->pem_content = core_text(f.pem_content);
    out->issuer_chain = core_text(f.issuer_chain);
}

Datum netbox_fields(FunctionCallInfo fcinfo, InputForm form) {
    FlatCert cert;
    read_certificate_arg(fcinfo, 0, form, &cert);  // raises on any bad input
    const bool ascii_only = core_ascii_only();
    const std::string_view leaf = text_view(cert.pem_content);
    const std::string_view chain = text_view(cert.issuer_chain);

    FlatNetbox nb;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] { flatten_netbox(netbox_ssl::netbox_fields(leaf, chain, ascii_only), &nb); });
    if (!ok) raise_core_error(&failure, form);

    TupleDesc desc = composite_result_desc(fcinfo);
    Datum values[kNetboxColumns];
    bool nulls[kNetboxColumns] = {};
    values[0] = PointerGetDatum(nb.common_name);
    values[1] = PointerGetDatum(nb.serial_number);
    // The fingerprint and validity dates are the ones ssl_parse computed
    // for the same leaf; the plugin uses the same formats for them.
    values[2] = PointerGetDatum(cert.fingerprint_sha256);
    values[3] = PointerGetDatum(nb.issuer);
    values[4] = TimestampTzGetDatum(cert.valid_from);
    values[5] = TimestampTzGetDatum(cert.valid_to);
    values[6] = text_array_datum(nb.sans, nb.nsans);
    values[7] = Int32GetDatum(nb.key_size);
    nulls[7] = !nb.has_key_size;
    values[8] = PointerGetDatum(nb.algorithm);
    values[9] = PointerGetDatum(nb.pem_content);
    values[10] = PointerGetDatum(nb.issuer_chain);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

}  // namespace

NETBOX_SSL_ENTRY(ssl_netbox_fields_text) { return netbox_fields(fcinfo, InputForm::Text); }
NETBOX_SSL_ENTRY(ssl_netbox_fields_bytea) { return netbox_fields(fcinfo, InputForm::Binary); }

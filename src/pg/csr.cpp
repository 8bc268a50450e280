// ssl_parse_csr: certificate signing requests, text (PEM) or bytea (DER).
// Same boundary shape as certificate_input.cpp: arguments read first, the
// core run inside run_core, errors raised after the C++ scope is left.
#include "core/csr.hpp"

#include "pg/adapter.hpp"
#include "pg/core_call.hpp"

extern "C" {
#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(ssl_parse_csr_text);
PG_FUNCTION_INFO_V1(ssl_parse_csr_bytea);
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
    void* sans = palloc_extended(sizeof(text*) * (info.sans.size() + 1), MCXT_ALLOC_NO_OOM);
    if (sans == nullptr) throw std::bad_alloc();
    out->sans = static_cast<text**>(sans);
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
    if (PG_ARGISNULL(0)) {
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the certificate request argument must not be NULL"),
                        errhidestmt(true)));
    }
    const Size raw_size = toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ;
    const Size limit = static_cast<Size>(netbox_ssl_max_input_bytes);
    if (raw_size > limit) {
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("certificate request input is %zu bytes, more than the limit of %zu bytes", raw_size, limit),
                        errhint("Raise the setting netbox_ssl.max_input_bytes if this input is genuine."),
                        errhidestmt(true)));
    }
    struct varlena* arg = PG_GETARG_VARLENA_PP(0);
    const char* data = VARDATA_ANY(arg);
    const std::size_t len = VARSIZE_ANY_EXHDR(arg);
    const int encoding = GetDatabaseEncoding();

    FlatCsr csr;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        netbox_ssl::ParseOptions options;
        options.max_input_bytes = limit;
        options.ascii_only = encoding != PG_UTF8 && encoding != PG_SQL_ASCII;
        const std::string_view input(data, len);
        flatten_csr(form == InputForm::Text ? netbox_ssl::parse_csr_pem(input, options)
                                            : netbox_ssl::parse_csr_der(input, options),
                    &csr);
    });
    if (!ok) raise_core_error(&failure, form);

    TupleDesc desc = nullptr;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("ssl_parse_csr must be called in a context that accepts a composite result"),
                        errhidestmt(true)));
    }
    desc = BlessTupleDesc(desc);
    Datum* san_datums = static_cast<Datum*>(palloc(sizeof(Datum) * (csr.nsans + 1)));
    for (int i = 0; i < csr.nsans; ++i) san_datums[i] = PointerGetDatum(csr.sans[i]);
    Datum values[kCsrColumns];
    bool nulls[kCsrColumns] = {};
    values[0] = PointerGetDatum(csr.subject);
    values[1] = PointerGetDatum(csr.common_name);
    nulls[1] = csr.common_name == nullptr;
    values[2] = PointerGetDatum(construct_array(san_datums, csr.nsans, TEXTOID, -1, false, TYPALIGN_INT));
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

extern "C" Datum ssl_parse_csr_text(PG_FUNCTION_ARGS) { return parse_csr(fcinfo, InputForm::Text); }
extern "C" Datum ssl_parse_csr_bytea(PG_FUNCTION_ARGS) { return parse_csr(fcinfo, InputForm::Binary); }

// libFuzzer target: arbitrary bytes through parse_der (DER decoding into
// CertificateInfo; PEM-looking input takes the PEM path).
//
// Differential check: when ParseOptions has force_full_parse (the core's
// fast decoders: the lean DER walker, then the light OpenSSL templates, each
// falling back to d2i_X509), the default and the full d2i_X509 decode must
// agree: both accept with identical columns, or both throw an Error of the
// same kind.
#include "fuzz_common.hpp"

#include "core/encoding.hpp"

#include <optional>
#include <type_traits>
#include <utility>

using namespace netbox_ssl;

namespace {

template <typename T, typename = void>
struct has_force_full_parse : std::false_type {};
template <typename T>
struct has_force_full_parse<T, std::void_t<decltype(std::declval<T&>().force_full_parse)>> : std::true_type {};

struct Outcome {
    std::optional<CertificateInfo> info;
    std::optional<ErrorKind> error;
};

Outcome run_parse_der(std::string_view bytes, const ParseOptions& options, const char* name) {
    Outcome out;
    try {
        out.info = parse_der(bytes, options);
    } catch (const Error& e) {
        out.error = e.kind();
    }
    fuzz::require_empty_error_queue(name);
    return out;
}

void require_same(const CertificateInfo& a, const CertificateInfo& b) {
#define NETBOX_SSL_SAME(field) \
    if (!(a.field == b.field)) fuzz::fail("fast and full decode differ in " #field)
    NETBOX_SSL_SAME(common_name);
    NETBOX_SSL_SAME(subject);
    NETBOX_SSL_SAME(issuer);
    NETBOX_SSL_SAME(serial_number);
    NETBOX_SSL_SAME(fingerprint_sha256);
    NETBOX_SSL_SAME(valid_from);
    NETBOX_SSL_SAME(valid_to);
    NETBOX_SSL_SAME(sans);
    NETBOX_SSL_SAME(algorithm);
    NETBOX_SSL_SAME(key_size);
    NETBOX_SSL_SAME(signature_algorithm);
    NETBOX_SSL_SAME(is_ca);
    NETBOX_SSL_SAME(subject_key_id);
    NETBOX_SSL_SAME(authority_key_id);
    NETBOX_SSL_SAME(spki_sha256);
    NETBOX_SSL_SAME(pem_content);
    NETBOX_SSL_SAME(issuer_chain);
    NETBOX_SSL_SAME(issuer_cn);
    NETBOX_SSL_SAME(issuer_org);
    NETBOX_SSL_SAME(tbs_sha256);
    NETBOX_SSL_SAME(crl_urls);
    NETBOX_SSL_SAME(ocsp_urls);
    NETBOX_SSL_SAME(ca_issuers_urls);
#undef NETBOX_SSL_SAME
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes = fuzz::as_view(data, size);
    const Outcome fast = run_parse_der(bytes, ParseOptions{}, "parse_der");
    if (fast.info) {
        const CertificateInfo& info = *fast.info;
        fuzz::check_info(info);
        // A DER certificate has no bundle: nothing can become issuer_chain.
        if (!looks_like_pem(bytes) && !info.issuer_chain.empty()) {
            fuzz::fail("parse_der of plain DER produced an issuer_chain");
        }
        // The canonical PEM of an accepted certificate parses to the same fingerprint.
        try {
            CertificateInfo again = parse_pem(info.pem_content);
            if (again.fingerprint_sha256 != info.fingerprint_sha256) {
                fuzz::fail("pem_content does not parse back to the same certificate");
            }
        } catch (const Error& e) {
            fuzz::fail("pem_content of an accepted certificate is rejected", e.what());
        }
        fuzz::require_empty_error_queue("parse_pem(pem_content)");
    }

    if constexpr (has_force_full_parse<ParseOptions>::value) {
        ParseOptions options;
        options.force_full_parse = true;
        const Outcome full = run_parse_der(bytes, options, "parse_der(force_full_parse)");
        if (fast.info.has_value() != full.info.has_value()) {
            fuzz::fail(fast.info ? "fast decode accepts what d2i_X509 rejects"
                                 : "fast decode rejects what d2i_X509 accepts");
        }
        if (fast.info) require_same(*fast.info, *full.info);
        if (fast.error != full.error) fuzz::fail("fast and full decode throw different ErrorKinds");
    }
    return 0;
}

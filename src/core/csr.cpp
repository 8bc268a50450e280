// Certificate signing requests (csr.hpp). Field text follows the
// certificate parser's rules through x509_text.hpp; input handling (size,
// sniffing, key refusal) is input.hpp's.
#include "core/csr.hpp"

#include "core/encoding.hpp"
#include "core/input.hpp"
#include "core/openssl_ptr.hpp"
#include "core/x509_text.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace netbox_ssl {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace)

CsrInfo from_pem(std::string_view text, const ParseOptions& options) {
    std::vector<PemBlock> blocks = split_pem(text);  // refuses private keys first
    std::string* request = nullptr;
    int requests = 0;
    for (PemBlock& block : blocks) {
        if (block.kind == PemKind::CertificateRequest) {
            ++requests;
            if (request == nullptr) request = &block.der;
        }
    }
    if (requests == 0) {
        throw Error(ErrorKind::Malformed, "input contains no certificate request",
                    "A -----BEGIN CERTIFICATE REQUEST----- block was expected.");
    }
    if (requests > 1) {
        throw Error(ErrorKind::Malformed, "input contains " + std::to_string(requests) + " certificate requests")
            .with_hint("Pass them one at a time.");
    }
    return parse_request_der(std::move(*request), options);
}


using X509ReqPtr = Owned<X509_REQ, X509_REQ_free>;

void free_extensions(STACK_OF(X509_EXTENSION)* exts) { sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free); }

}  // namespace

CsrInfo parse_request_der(std::string der, const ParseOptions& options) {
    ErrorQueueGuard guard;
    require_der_outer(der);
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* p = begin;
    X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
    if (!req) {
        std::string reason = take_openssl_reason();
        refuse_if_key(der);
        malformed("input is not a valid certificate request (PKCS#10)", reason);
    }
    if (p != begin + der.size()) {
        ERR_clear_error();
        refuse_if_key(der.substr(static_cast<std::size_t>(p - begin)));
        malformed("certificate request is followed by unexpected trailing data");
    }

    CsrInfo info;
    info.subject = name_rfc2253(X509_REQ_get_subject_name(req.get()));
    info.fingerprint_sha256 = sha256_hex(begin, der.size());

    std::optional<std::string> first_dns;
    std::unique_ptr<STACK_OF(X509_EXTENSION), void (*)(STACK_OF(X509_EXTENSION)*)> exts(
        X509_REQ_get_extensions(req.get()), free_extensions);
    ERR_clear_error();
    if (exts) {
        int critical = 0;
        GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, &critical, nullptr)));
        ERR_clear_error();
        if (names) {
            for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
                const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
                int type = 0;
                void* value = GENERAL_NAME_get0_value(gn, &type);
                if (type == GEN_DNS && !first_dns) first_dns = ia5_text(static_cast<ASN1_IA5STRING*>(value));
                info.sans.push_back(general_name_text(gn));
            }
        }
    }
    const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const int cn_index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (cn_index >= 0) {
        info.common_name = asn1_string_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_index)));
    } else {
        info.common_name = first_dns;
    }

    X509_PUBKEY* pubkey = X509_REQ_get_X509_PUBKEY(req.get());
    ASN1_OBJECT* key_oid = nullptr;
    X509_PUBKEY_get0_param(&key_oid, nullptr, nullptr, nullptr, pubkey);
    info.algorithm = public_key_algorithm(OBJ_obj2nid(key_oid));
    EVP_PKEY* pkey = X509_REQ_get0_pubkey(req.get());
    ERR_clear_error();
    if (pkey != nullptr && (info.algorithm == "rsa" || info.algorithm == "ecdsa" || info.algorithm == "dsa")) {
        const int bits = EVP_PKEY_get_bits(pkey);
        if (bits > 0) info.key_size = bits;
    }
    unsigned char* spki_der = nullptr;
    const int spki_len = i2d_X509_PUBKEY(pubkey, &spki_der);
    if (spki_len <= 0) malformed("certificate request's public key cannot be encoded", take_openssl_reason());
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> spki_owner(spki_der, free_openssl_bytes);
    info.spki_sha256 = sha256_hex(spki_der, static_cast<std::size_t>(spki_len));

    const X509_ALGOR* sig_alg = nullptr;
    X509_REQ_get0_signature(req.get(), nullptr, &sig_alg);
    const ASN1_OBJECT* sig_oid = nullptr;
    X509_ALGOR_get0(&sig_oid, nullptr, nullptr, sig_alg);
    info.signature_algorithm = oid_text(sig_oid, false);
    info.signature_valid = pkey != nullptr && X509_REQ_verify(req.get(), pkey) == 1;
    ERR_clear_error();

    info.pem_content = pem_encode(der, "CERTIFICATE REQUEST");
    if (options.ascii_only) {
        if (info.common_name) info.common_name = escape_non_ascii(*info.common_name);
        for (std::string& san : info.sans) san = escape_non_ascii(san);
    }
    return info;
}

CsrInfo parse_csr_pem(std::string_view text, const ParseOptions& options) {
    check_input_size(text, options);
    return from_pem(text, options);
}

CsrInfo parse_csr_der(std::string_view bytes, const ParseOptions& options) {
    check_input_size(bytes, options);
    if (binary_input_is_pem(bytes)) return from_pem(bytes, options);
    return parse_request_der(std::string(bytes), options);
}

}  // namespace netbox_ssl

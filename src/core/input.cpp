// Certificate input handling (input.hpp).
#include "core/input.hpp"

#include "core/encoding.hpp"
#include "core/openssl_ptr.hpp"
#include "core/x509_text.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <climits>

namespace netbox_ssl::detail {
namespace {

using Pkcs8Ptr = Owned<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>;
using X509SigPtr = Owned<X509_SIG, X509_SIG_free>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using Pkcs12Ptr = Owned<PKCS12, PKCS12_free>;

}  // namespace

void check_input_size(std::string_view input, const ParseOptions& options, const char* what) {
    if (options.max_input_bytes != 0 && input.size() > options.max_input_bytes) {
        throw Error(ErrorKind::TooLarge, std::string(what) + " is too large",
                    "It is " + std::to_string(input.size()) + " bytes; the limit is " +
                        std::to_string(options.max_input_bytes) + " bytes.");
    }
}

bool binary_input_is_pem(std::string_view bytes) {
    if (bytes.empty()) malformed("input is empty");
    // PuTTY key files have no PEM armour, so the PEM scan never sees them.
    if (bytes.find("PuTTY-User-Key-File-") != std::string_view::npos) throw_private_key_found();
    return looks_like_pem(bytes);
}

// Whether `der` is private key material (or a PKCS#12 archive, which holds
// keys). Only called after it failed to parse as a certificate.
void refuse_if_key(const std::string& der) {
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const long len = static_cast<long>(der.size());
    const unsigned char* p = begin;
    if (Pkcs12Ptr(d2i_PKCS12(nullptr, &p, len)) && p == begin + len) {
        ERR_clear_error();
        throw Error(ErrorKind::Pkcs12,
                    "input is a PKCS#12 archive",
                    "A PKCS#12 archive carries private keys; nothing was stored.")
            .with_hint("Export only the certificate, e.g. with: openssl pkcs12 -in file.p12 -nokeys.");
    }
    p = begin;
    if (Pkcs8Ptr(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len)) && p == begin + len) throw_private_key_found();
    p = begin;
    if (X509SigPtr(d2i_X509_SIG(nullptr, &p, len)) && p == begin + len) throw_private_key_found();
    p = begin;
    if (PkeyPtr(d2i_AutoPrivateKey(nullptr, &p, len)) && p == begin + len) throw_private_key_found();
    ERR_clear_error();
}

// The outermost SEQUENCE must have DER's definite, minimal length. OpenSSL
// also reads BER there, but re-encodes it as DER: the fingerprint of the
// received bytes would then differ from the one OpenSSL prints, and a BER copy
// of a stored certificate would slip past the unique fingerprint. Headers
// OpenSSL cannot read at all are left to the decoders' own error.
void require_der_outer(const std::string& der) {
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* p = begin;
    long content = 0;
    int tag = 0;
    int cls = 0;
    const int ret = ASN1_get_object(&p, &content, &tag, &cls, static_cast<long>(der.size()));
    ERR_clear_error();
    if ((ret & 0x80) != 0) return;
    if ((ret & 0x01) != 0) {
        throw Error(ErrorKind::Malformed, "input is not DER-encoded", "Its outer SEQUENCE uses an indefinite (BER) length.")
            .with_hint("Convert it with: openssl x509 -outform DER.");
    }
    const long header = static_cast<long>(p - begin);
    if (content > INT_MAX - 16) return;  // far beyond any size limit; the decoders refuse it
    if (ASN1_object_size(1, static_cast<int>(content), tag) != header + content) {
        throw Error(ErrorKind::Malformed, "input is not DER-encoded", "Its outer SEQUENCE length is not in minimal form.")
            .with_hint("Convert it with: openssl x509 -outform DER.");
    }
}

}  // namespace netbox_ssl::detail

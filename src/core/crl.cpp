// CRL parsing and signature verification (crl.hpp). OpenSSL objects are
// owned by Owned<> (openssl_ptr.hpp); the error queue is left empty.
#include "core/crl.hpp"

#include "core/cancel.hpp"
#include "core/encoding.hpp"
#include "core/input.hpp"
#include "core/openssl_ptr.hpp"
#include "core/x509_text.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>


namespace netbox_ssl {

namespace {

using detail::BioPtr;
using detail::ErrorQueueGuard;
using detail::malformed;
using detail::take_openssl_reason;
using CrlPtr = Owned<X509_CRL, X509_CRL_free>;
using X509Ptr = Owned<X509, X509_free>;
using EvpKeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using BnPtr = Owned<BIGNUM, BN_free>;
using AkidPtr = Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using IntegerPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using EnumeratedPtr = Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;

// Entries between two cancellation polls: a 100,000-entry CRL polls 25 times.
constexpr std::size_t kEntriesPerPoll = 4096;

std::int64_t crl_time(const ASN1_TIME* t, const char* which) {
    return detail::asn1_time_seconds(t, std::string("CRL has an invalid ") + which + " date");
}

std::string integer_decimal(const ASN1_INTEGER* value) {
    BnPtr bn(ASN1_INTEGER_to_BN(value, nullptr));
    if (!bn) malformed("CRL has an invalid CRL number", take_openssl_reason());
    char* dec = BN_bn2dec(bn.get());
    if (dec == nullptr) throw Error(ErrorKind::Internal, "cannot print a CRL number", take_openssl_reason());
    std::string out(dec);
    OPENSSL_free(dec);
    return out;
}

CrlInfo describe(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (!crl) malformed("input is not a valid CRL", take_openssl_reason());
    if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        malformed("input has bytes after the CRL");
    }
    CrlInfo info;
    info.der = der;
    const X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
    if (issuer == nullptr) malformed("CRL has no issuer");
    info.issuer = detail::print_name(issuer);
    {
        const unsigned char* name_der = nullptr;
        std::size_t name_len = 0;
        if (X509_NAME_get0_der(const_cast<X509_NAME*>(issuer), &name_der, &name_len) != 1) {
            malformed("CRL has an issuer name that cannot be encoded", take_openssl_reason());
        }
        info.issuer_hash = detail::sha256_hex(name_der, name_len);
    }
    info.this_update = crl_time(X509_CRL_get0_lastUpdate(crl.get()), "thisUpdate");
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get())) info.next_update = crl_time(next, "nextUpdate");

    int crit = 0;
    AkidPtr akid(static_cast<AUTHORITY_KEYID*>(X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, &crit, nullptr)));
    if (akid && akid->keyid != nullptr) {
        info.authority_key_id =
            colon_hex(ASN1_STRING_get0_data(akid->keyid), static_cast<std::size_t>(ASN1_STRING_length(akid->keyid)));
    } else if (!akid && crit != -1) {
        malformed("CRL has an invalid authority key identifier", take_openssl_reason());
    }
    IntegerPtr number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &crit, nullptr)));
    if (number) {
        info.crl_number = integer_decimal(number.get());
    } else if (crit != -1) {
        malformed("CRL has an invalid CRL number", take_openssl_reason());
    }
    const X509_ALGOR* alg = nullptr;
    X509_CRL_get0_signature(crl.get(), nullptr, &alg);
    if (alg != nullptr) {
        const ASN1_OBJECT* obj = nullptr;
        X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
        info.signature_algorithm = detail::oid_text(obj, false);
    }

    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
    const int n = revoked == nullptr ? 0 : sk_X509_REVOKED_num(revoked);
    info.entries.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        if (static_cast<std::size_t>(i) % kEntriesPerPoll == kEntriesPerPoll - 1) poll_cancel();
        const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
        CrlEntry entry;
        entry.serial = detail::serial_text(X509_REVOKED_get0_serialNumber(r));
        entry.revoked_at = crl_time(X509_REVOKED_get0_revocationDate(r), "revocationDate");
        EnumeratedPtr reason(static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr)));
        if (reason) {
            entry.reason = crl_reason_name(ASN1_ENUMERATED_get(reason.get()));
        } else if (crit != -1) {
            malformed("CRL has an entry with an invalid reason code", take_openssl_reason());
        }
        info.entries.push_back(std::move(entry));
    }
    ERR_clear_error();
    return info;
}

std::vector<CrlInfo> from_pem(std::string_view text) {
    refuse_pem_private_keys(text);
    std::vector<CrlInfo> out;
    std::size_t pos = 0;
    static constexpr std::string_view kBegin = "-----BEGIN X509 CRL-----";
    static constexpr std::string_view kEnd = "-----END X509 CRL-----";
    while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
        poll_cancel();
        const std::size_t end = text.find(kEnd, pos);
        if (end == std::string_view::npos) malformed("CRL PEM block has no END line");
        const std::string_view block = text.substr(pos, end + kEnd.size() - pos);
        BioPtr bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
        if (!bio) throw Error(ErrorKind::Internal, "cannot create an OpenSSL BIO", take_openssl_reason());
        CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
        if (!crl) {
            malformed("CRL PEM block " + std::to_string(out.size() + 1) + " does not decode", take_openssl_reason());
        }
        unsigned char* der = nullptr;
        const int len = i2d_X509_CRL(crl.get(), &der);
        if (len <= 0) malformed("CRL cannot be re-encoded", take_openssl_reason());
        std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
        crl.reset();
        out.push_back(describe(bytes));
        pos = end + kEnd.size();
    }
    if (out.empty()) malformed("input contains no X509 CRL PEM block");
    return out;
}

}  // namespace

std::string crl_reason_name(long code) {
    // RFC 5280 5.3.1; value 7 is not used.
    static const char* const kNames[] = {"unspecified",        "keyCompromise", "cACompromise",
                                         "affiliationChanged", "superseded",    "cessationOfOperation",
                                         "certificateHold",    nullptr,         "removeFromCRL",
                                         "privilegeWithdrawn", "aACompromise"};
    if (code >= 0 && code < static_cast<long>(sizeof kNames / sizeof kNames[0]) && kNames[code] != nullptr) {
        return kNames[code];
    }
    return "unknown(" + std::to_string(code) + ")";
}

std::vector<CrlInfo> parse_crl_pem(std::string_view text, const ParseOptions& options) {
    detail::check_input_size(text, options, "CRL input");
    ErrorQueueGuard guard;
    return from_pem(text);
}

std::vector<CrlInfo> parse_crl_der(std::string_view bytes, const ParseOptions& options) {
    detail::check_input_size(bytes, options, "CRL input");
    ErrorQueueGuard guard;
    if (detail::binary_input_is_pem(bytes)) return from_pem(bytes);
    std::vector<CrlInfo> out;
    out.push_back(describe(std::string(bytes)));
    return out;
}

bool crl_signature_valid(std::string_view crl_der, std::string_view issuer_der) {
    ErrorQueueGuard guard;
    const auto* p = reinterpret_cast<const unsigned char*>(crl_der.data());
    CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der.size())));
    if (!crl) malformed("input is not a valid CRL", take_openssl_reason());
    const auto* q = reinterpret_cast<const unsigned char*>(issuer_der.data());
    X509Ptr issuer(d2i_X509(nullptr, &q, static_cast<long>(issuer_der.size())));
    if (!issuer) malformed("issuer certificate does not decode", take_openssl_reason());
    EVP_PKEY* key = X509_get0_pubkey(issuer.get());
    if (key == nullptr) return false;
    return X509_CRL_verify(crl.get(), key) == 1;
}

}  // namespace netbox_ssl

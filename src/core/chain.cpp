// Chain validation with OpenSSL's path builder, then the web-PKI rules.
//
// OpenSSL builds and checks the path (signatures, basicConstraints, pathLen,
// key usage, name constraints, validity at the given time, purpose, host
// name). It does not enforce the CA/Browser Forum profile, so a path it
// accepts is then checked against the rules listed in
// docs/chain-validation.md ("Web-PKI rules"); each rule names its source.
#include "core/chain.hpp"

#include "core/cancel.hpp"
#include "core/certificate.hpp"
#include "core/encoding.hpp"
#include "core/openssl_ptr.hpp"
#include "core/x509_text.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <utility>

namespace netbox_ssl {
namespace {

using X509Ptr = Owned<X509, X509_free>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using BasicConstraintsPtr = Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using AuthorityKeyIdPtr = Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using NameConstraintsPtr = Owned<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>;
using AiaPtr = Owned<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free>;

void free_eku(EXTENDED_KEY_USAGE* p) { sk_ASN1_OBJECT_pop_free(p, ASN1_OBJECT_free); }
using EkuPtr = Owned<EXTENDED_KEY_USAGE, free_eku>;

// A stack whose members are owned by someone else (the CertificateSets).
void free_stack_only(STACK_OF(X509)* s) { sk_X509_free(s); }
using ShallowStackPtr = Owned<STACK_OF(X509), free_stack_only>;
// A stack that owns one reference to each member.
void free_stack_and_members(STACK_OF(X509)* s) { sk_X509_pop_free(s, X509_free); }
using OwningStackPtr = Owned<STACK_OF(X509), free_stack_and_members>;

struct ErrorQueueGuard {
    ErrorQueueGuard() { ERR_clear_error(); }
    ~ErrorQueueGuard() { ERR_clear_error(); }
    ErrorQueueGuard(const ErrorQueueGuard&) = delete;
    ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

[[noreturn]] void internal(const char* what) {
    throw Error(ErrorKind::Internal, std::string("chain validation failed inside OpenSSL: ") + what);
}

std::string fingerprint(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) != 1) internal("X509_digest");
    return colon_hex(md, len);
}

// The subject as RFC 4514 text, made safe for a message.
std::string subject_text(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) internal("BIO_new");
    if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return "?";
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    std::string s = sanitize_text(std::string_view(data, len > 0 ? static_cast<std::size_t>(len) : 0), false);
    if (s.empty()) return "empty subject";
    // One sentence, not a page: very long names are cut.
    if (s.size() > 120) {
        s.resize(117);
        // Never end inside a UTF-8 sequence (the last character may go too).
        while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
        if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
        s += "...";
    }
    return s;
}

// (cppcheck does not see the members used through std::optional.)
struct Finding {
    // cppcheck-suppress unusedStructMember
    int depth;
    // cppcheck-suppress unusedStructMember
    std::string reason;  // completes "certificate at depth N (subject) ..."
};

// Serial number rules, RFC 5280 4.1.2.2 and CA/B BR 7.1.2.x ("serialNumber"):
// positive, at most 20 octets as encoded (a magnitude with its high bit set
// needs a leading zero octet).
std::optional<std::string> serial_problem(X509* cert) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    const int len = ASN1_STRING_length(serial);
    const unsigned char* data = ASN1_STRING_get0_data(serial);
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) return "has a negative serial number (RFC 5280 4.1.2.2)";
    bool zero = true;
    for (int i = 0; i < len; ++i) zero = zero && data[i] == 0;
    if (zero) return "has serial number zero (RFC 5280 4.1.2.2 requires a positive serial)";
    const int encoded = len + ((data[0] & 0x80) != 0 ? 1 : 0);
    if (encoded > 20) return "has a serial number longer than 20 octets (RFC 5280 4.1.2.2)";
    return std::nullopt;
}

// Key rules, CA/B BR 6.1.5 and 7.1.3.1: RSA keys of at least 2048 bits, or
// ECDSA keys on P-256, P-384 or P-521 given as a named curve. DSA, EdDSA,
// explicit curve parameters and every other key type are not allowed.
std::optional<std::string> key_problem(X509* cert) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    if (key == nullptr) return "has a public key that cannot be decoded";
    if (EVP_PKEY_is_a(key, "RSA")) {
        const int bits = EVP_PKEY_get_bits(key);
        if (bits < 2048) return "has a " + std::to_string(bits) + "-bit RSA key, below the 2048 bits the CA/B Baseline Requirements (6.1.5) require";
        return std::nullopt;
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[80] = {};
        std::size_t glen = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &glen) != 1) {
            ERR_clear_error();
            return "has an EC key with explicit curve parameters, which the CA/B Baseline Requirements (7.1.3.1.2) forbid";
        }
        const int nid = OBJ_txt2nid(group);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1) return std::nullopt;
        return std::string("has an EC key on curve ") + group +
               "; the CA/B Baseline Requirements (6.1.5) allow only P-256, P-384 and P-521";
    }
    const char* type = EVP_PKEY_get0_type_name(key);
    return std::string("has a public key of type ") + (type != nullptr ? type : "unknown") +
           "; the CA/B Baseline Requirements (6.1.5) allow only RSA and ECDSA keys";
}

// Signature algorithms, CA/B BR 7.1.3.2: RSASSA-PKCS1-v1_5 or RSASSA-PSS
// with SHA-256/384/512, ECDSA with SHA-256/384/512. Checked for every
// signature a validation relies on, i.e. every certificate below the anchor
// (the anchor's self-signature is not relied upon).
std::optional<std::string> signature_problem(X509* cert) {
    switch (X509_get_signature_nid(cert)) {
    case NID_sha256WithRSAEncryption:
    case NID_sha384WithRSAEncryption:
    case NID_sha512WithRSAEncryption:
    case NID_rsassaPss:
    case NID_ecdsa_with_SHA256:
    case NID_ecdsa_with_SHA384:
    case NID_ecdsa_with_SHA512:
        return std::nullopt;
    default:
        break;
    }
    const char* name = OBJ_nid2ln(X509_get_signature_nid(cert));
    return std::string("is signed with ") + (name != nullptr ? name : "an unknown algorithm") +
           ", which the CA/B Baseline Requirements (7.1.3.2) do not allow";
}

// Every extension OpenSSL knows must decode (RFC 5280 4.2: a certificate
// with an undecodable extension is malformed); an AIA must hold at least one
// access description (RFC 5280 4.2.2.1, CA/B BR 7.1.2.7.7).
std::optional<std::string> extension_problem(X509* cert) {
    const int count = X509_get_ext_count(cert);
    for (int i = 0; i < count; ++i) {
        X509_EXTENSION* ext = X509_get_ext(cert, i);
        const X509V3_EXT_METHOD* method = X509V3_EXT_get(ext);
        if (method == nullptr || method->it == nullptr) continue;
        void* decoded = X509V3_EXT_d2i(ext);
        if (decoded == nullptr) {
            ERR_clear_error();
            const char* name = OBJ_nid2ln(OBJ_obj2nid(X509_EXTENSION_get_object(ext)));
            return std::string("has a malformed ") + (name != nullptr ? name : "") + " extension";
        }
        ASN1_item_free(static_cast<ASN1_VALUE*>(decoded), ASN1_ITEM_ptr(method->it));
    }
    int crit = -1;
    AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(cert, NID_info_access, &crit, nullptr)));
    if (aia && sk_ACCESS_DESCRIPTION_num(aia.get()) == 0) {
        return "has an empty Authority Information Access extension (RFC 5280 4.2.2.1)";
    }
    ERR_clear_error();
    return std::nullopt;
}

// RFC 5280 4.2.1.1: the keyIdentifier MUST be present in an AKI.
std::optional<std::string> aki_problem(X509* cert) {
    int crit = -1;
    AuthorityKeyIdPtr aki(static_cast<AUTHORITY_KEYID*>(X509_get_ext_d2i(cert, NID_authority_key_identifier, &crit, nullptr)));
    ERR_clear_error();
    if (aki && aki->keyid == nullptr) return "has an Authority Key Identifier without a keyIdentifier (RFC 5280 4.2.1.1)";
    return std::nullopt;
}

bool ldh_label(std::string_view label) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char ch : label) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) == 0 && c != '-') return false;
    }
    return true;
}

std::optional<std::string> leaf_problem(X509* cert) {
    int crit = -1;
    BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, &crit, nullptr)));
    if (bc && bc->ca != 0) return "is a CA certificate (cA=TRUE) used as a server certificate (CA/B BR 7.1.2.7.8)";

    crit = -1;
    EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
    if (!eku) return "has no extendedKeyUsage extension, which the CA/B Baseline Requirements (7.1.2.7.10) require";
    if (crit == 1) return "has a critical extendedKeyUsage extension (CA/B BR 7.1.2.7.10)";
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i)) == NID_anyExtendedKeyUsage) {
            return "has anyExtendedKeyUsage, which the CA/B Baseline Requirements (7.1.2.7.10) forbid";
        }
    }

    crit = -1;
    GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
    if (!sans || sk_GENERAL_NAME_num(sans.get()) == 0) {
        return "has no subjectAltName; the subject CN is never used for host names (RFC 6125 6.4.4, CA/B BR 7.1.2.7.12)";
    }
    if (crit == 1 && X509_NAME_entry_count(X509_get_subject_name(cert)) > 0) {
        return "has a critical subjectAltName with a non-empty subject (RFC 5280 4.2.1.6, CA/B BR 7.1.2.7.12)";
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
        if (gn->type == GEN_DNS) {
            const ASN1_STRING* s = gn->d.dNSName;
            const std::string_view name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                        static_cast<std::size_t>(ASN1_STRING_length(s)));
            if (!valid_dns_san(name)) {
                return "has a malformed DNS name \"" + sanitize_text(name, false) +
                       "\" in its subjectAltName (RFC 5280 4.2.1.6, CA/B BR 7.1.2.7.12)";
            }
        } else if (gn->type == GEN_IPADD) {
            const int len = ASN1_STRING_length(gn->d.iPAddress);
            if (len != 4 && len != 16) return "has a malformed IP address in its subjectAltName (RFC 5280 4.2.1.6)";
        }
    }

    crit = -1;
    NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &crit, nullptr)));
    ERR_clear_error();
    if (nc || crit != -1) return "is an end-entity certificate with a nameConstraints extension (RFC 5280 4.2.1.10)";
    return std::nullopt;
}

std::optional<std::string> ca_problem(X509* cert, bool anchor) {
    int crit = -1;
    NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &crit, nullptr)));
    ERR_clear_error();
    // Criticality is not required: CA/B BR 7.1.2.5.2 allows a non-critical
    // nameConstraints (limbo webpki::nc::permitted-dns-match-noncritical),
    // where RFC 5280 4.2.1.10 requires it critical; the web profile wins.
    if (nc) {
        if (sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) <= 0 && sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0) {
            return "has a nameConstraints extension with neither permitted nor excluded subtrees (RFC 5280 4.2.1.10)";
        }
    }
    if (anchor) {
        crit = -1;
        EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
        ERR_clear_error();
        if (eku || crit != -1) return "is a root with an extendedKeyUsage extension, which the CA/B Baseline Requirements (7.1.2.1.2) forbid";
    }
    return std::nullopt;
}

// The first web-PKI rule the path breaks, looking from the leaf up.
std::optional<Finding> web_pki_finding(STACK_OF(X509)* chain, bool as_issuer) {
    const int n = sk_X509_num(chain);
    for (int depth = 0; depth < n; ++depth) {
        X509* cert = sk_X509_value(chain, depth);
        const bool anchor = depth == n - 1;
        std::optional<std::string> problem;
        if (!anchor && X509_get_version(cert) != X509_VERSION_3) {
            problem = "is not an X.509 version 3 certificate (CA/B BR 7.1.1)";
        }
        if (!problem && !anchor) problem = serial_problem(cert);
        if (!problem) problem = key_problem(cert);
        if (!problem && !anchor) problem = signature_problem(cert);
        if (!problem) problem = extension_problem(cert);
        if (!problem) problem = aki_problem(cert);
        if (!problem && depth == 0 && !as_issuer) problem = leaf_problem(cert);
        if (!problem && (depth > 0 || as_issuer)) problem = ca_problem(cert, anchor);
        if (problem) return Finding{depth, std::move(*problem)};
    }
    return std::nullopt;
}

struct RevocationFinding {
    ChainStatus status;
    int depth;
    std::string reason;  // completes "certificate at depth N (subject) ..."
};

// Revocation of a path OpenSSL accepted (RFC 5280 6.3): every certificate
// below the trust anchor is looked up by its issuer (the next certificate of
// the path) and its serial in the adapter's stored CRLs and OCSP answers.
// The anchor itself is trusted as configured and never looked up.
std::optional<RevocationFinding> revocation_finding(STACK_OF(X509)* chain, const ChainOptions& options) {
    if (options.revocation == RevocationMode::None || options.revocation_source == nullptr) return std::nullopt;
    const int n = sk_X509_num(chain);
    for (int depth = 0; depth + 1 < n; ++depth) {
        X509* cert = sk_X509_value(chain, depth);
        X509* issuer = sk_X509_value(chain, depth + 1);
        const RevocationAnswer answer = options.revocation_source->lookup(
            fingerprint(issuer), detail::serial_text(X509_get0_serialNumber(cert)), options.at);
        if (answer.kind == RevocationAnswer::Kind::Revoked) {
            return RevocationFinding{ChainStatus::Revoked, depth, "is revoked: " + answer.detail};
        }
        if (answer.kind == RevocationAnswer::Kind::NoData && options.revocation == RevocationMode::Required) {
            return RevocationFinding{ChainStatus::Invalid, depth,
                                     "has no usable, current revocation data (CRL or OCSP) from its issuer " +
                                         subject_text(issuer) + ", which revocation => 'required' demands"};
        }
    }
    return std::nullopt;
}

ChainStatus status_for(int error) {
    switch (error) {
    case X509_V_OK:
        return ChainStatus::Valid;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return ChainStatus::Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return ChainStatus::NotYetValid;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return ChainStatus::SelfSigned;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return ChainStatus::UntrustedRoot;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return ChainStatus::NoChain;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return ChainStatus::HostnameMismatch;
    case X509_V_ERR_OUT_OF_MEM:
    case X509_V_ERR_UNSPECIFIED:
    case X509_V_ERR_STORE_LOOKUP:
        return ChainStatus::Unknown;
    default:
        return ChainStatus::Invalid;
    }
}

}  // namespace

const char* chain_status_name(ChainStatus status) {
    switch (status) {
    case ChainStatus::Valid: return "valid";
    case ChainStatus::Invalid: return "invalid";
    case ChainStatus::SelfSigned: return "self_signed";
    case ChainStatus::NoChain: return "no_chain";
    case ChainStatus::UntrustedRoot: return "untrusted_root";
    case ChainStatus::Expired: return "expired";
    case ChainStatus::NotYetValid: return "not_yet_valid";
    case ChainStatus::HostnameMismatch: return "hostname_mismatch";
    case ChainStatus::Unknown: return "unknown";
    case ChainStatus::Revoked: return "revoked";
    }
    return "unknown";
}

bool valid_dns_san(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    bool first = true;
    int labels = 0;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        const std::string_view label = name.substr(start, dot - start);
        // A wildcard is only ever the whole leftmost label (CA/B BR
        // 7.1.2.7.12, RFC 6125 6.4.3 as the web PKI applies it).
        if (!(first && label == "*") && !ldh_label(label)) return false;
        ++labels;
        first = false;
        start = dot + 1;
        if (dot == name.size()) break;
    }
    return labels >= 2;
}

// ---------------------------------------------------------------------------
// CertificateSet
// ---------------------------------------------------------------------------

struct CertificateSet::Impl {
    std::vector<X509Ptr> certs;
};

CertificateSet::CertificateSet() : impl_(std::make_unique<Impl>()) {}
CertificateSet::~CertificateSet() = default;
CertificateSet::CertificateSet(CertificateSet&&) noexcept = default;
CertificateSet& CertificateSet::operator=(CertificateSet&&) noexcept = default;

void CertificateSet::add_der(std::string_view der) {
    poll_cancel();
    ErrorQueueGuard guard;
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* start = p;
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) throw Error(ErrorKind::Malformed, "a certificate of the chain is not valid DER");
    if (static_cast<std::size_t>(p - start) != der.size()) {
        throw Error(ErrorKind::Malformed, "a certificate of the chain has data after its end");
    }
    impl_->certs.push_back(std::move(cert));
}

std::size_t CertificateSet::add_pem(std::string_view text) {
    std::size_t added = 0;
    for (const PemBlock& block : split_pem(text)) {
        if (block.kind == PemKind::Other) continue;
        if (block.kind == PemKind::TrustedCertificate) {
            poll_cancel();
            // OpenSSL's "TRUSTED CERTIFICATE" is the certificate followed by
            // trust settings; only the certificate is used.
            ErrorQueueGuard guard;
            const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
            X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(block.der.size())));
            if (!cert) throw Error(ErrorKind::Malformed, "a TRUSTED CERTIFICATE block is not valid DER");
            impl_->certs.push_back(std::move(cert));
        } else {
            add_der(block.der);
        }
        ++added;
    }
    return added;
}

std::size_t CertificateSet::size() const { return impl_->certs.size(); }

// ---------------------------------------------------------------------------
// ChainValidator
// ---------------------------------------------------------------------------

struct ChainValidator::Impl {
    StorePtr store;
    OwningStackPtr pool;
};

ChainValidator::ChainValidator(const CertificateSet& anchors, const CertificateSet& intermediates)
    : impl_(std::make_unique<Impl>()) {
    ErrorQueueGuard guard;
    impl_->store.reset(X509_STORE_new());
    impl_->pool.reset(sk_X509_new_null());
    if (!impl_->store || !impl_->pool) internal("allocating the store");
    for (const X509Ptr& cert : anchors.impl().certs) {
        poll_cancel();
        // A duplicate anchor is harmless: the store keeps one copy.
        if (X509_STORE_add_cert(impl_->store.get(), cert.get()) != 1) ERR_clear_error();
    }
    for (const X509Ptr& cert : intermediates.impl().certs) {
        poll_cancel();
        if (sk_X509_push(impl_->pool.get(), cert.get()) <= 0) internal("sk_X509_push");
        X509_up_ref(cert.get());
    }
}

ChainValidator::~ChainValidator() = default;

ChainResult ChainValidator::validate(const CertificateSet& leaf_set, const CertificateSet& extra,
                                     const ChainOptions& options) const {
    ErrorQueueGuard guard;
    const auto& leaf_certs = leaf_set.impl().certs;
    if (leaf_certs.empty()) throw Error(ErrorKind::Malformed, "there is no certificate to validate");
    X509* leaf = leaf_certs.front().get();

    // The per-call intermediates come first, so that a certificate's own
    // issuer_chain is preferred over the shared pool.
    ShallowStackPtr untrusted(sk_X509_new_null());
    if (!untrusted) internal("sk_X509_new_null");
    for (std::size_t i = 1; i < leaf_certs.size(); ++i) {
        if (sk_X509_push(untrusted.get(), leaf_certs[i].get()) <= 0) internal("sk_X509_push");
    }
    for (const X509Ptr& cert : extra.impl().certs) {
        if (sk_X509_push(untrusted.get(), cert.get()) <= 0) internal("sk_X509_push");
    }
    for (int i = 0; i < sk_X509_num(impl_->pool.get()); ++i) {
        if (sk_X509_push(untrusted.get(), sk_X509_value(impl_->pool.get(), i)) <= 0) internal("sk_X509_push");
    }

    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), impl_->store.get(), leaf, untrusted.get()) != 1) {
        internal("X509_STORE_CTX_init");
    }
    // A CA certificate checked without a host name (a stored intermediate or
    // root) is validated as an issuer: any purpose, and the CA rules instead
    // of the server-certificate rules. With a host name it is a server
    // certificate like any other (limbo webpki::ee-basicconstraints-ca).
    const bool as_issuer = !options.hostname && X509_check_ca(leaf) != 0;
    if (X509_STORE_CTX_set_purpose(ctx.get(), as_issuer ? X509_PURPOSE_ANY : X509_PURPOSE_SSL_SERVER) != 1) {
        internal("set_purpose");
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    // Only a path that ends at a trust anchor counts; an anchor that is an
    // intermediate does not end the path early.
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.at));
    X509_VERIFY_PARAM_set_depth(param, options.max_depth);
    // The CN is never a host name (RFC 6125 6.4.4, CA/B BR 7.1.4.3), and a
    // wildcard matches only a whole leftmost label (RFC 6125 6.4.3).
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (options.hostname) {
        const std::string& host = *options.hostname;
        if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
            ERR_clear_error();
            if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) internal("set1_host");
        }
    }

    const int rc = X509_verify_cert(ctx.get());
    const int error = X509_STORE_CTX_get_error(ctx.get());
    const int error_depth = X509_STORE_CTX_get_error_depth(ctx.get());

    ChainResult result;
    OwningStackPtr chain(X509_STORE_CTX_get1_chain(ctx.get()));
    if (chain) {
        for (int i = 0; i < sk_X509_num(chain.get()); ++i) result.chain.push_back(fingerprint(sk_X509_value(chain.get(), i)));
    } else {
        result.chain.push_back(fingerprint(leaf));
    }
    auto cert_at = [&](int depth) -> X509* {
        if (chain && depth >= 0 && depth < sk_X509_num(chain.get())) return sk_X509_value(chain.get(), depth);
        return leaf;
    };

    if (rc == 1) {
        std::optional<Finding> finding;
        if (options.web_pki && chain) finding = web_pki_finding(chain.get(), as_issuer);
        if (finding) {
            result.status = ChainStatus::Invalid;
            result.depth = finding->depth;
            result.message = "Certificate at depth " + std::to_string(finding->depth) + " (" +
                             subject_text(cert_at(finding->depth)) + ") " + finding->reason + ".";
            return result;
        }
        if (chain) {
            if (std::optional<RevocationFinding> revoked = revocation_finding(chain.get(), options)) {
                result.status = revoked->status;
                result.depth = revoked->depth;
                result.message = "Certificate at depth " + std::to_string(revoked->depth) + " (" +
                                 subject_text(cert_at(revoked->depth)) + ") " + revoked->reason + ".";
                return result;
            }
        }
        const int top = chain ? sk_X509_num(chain.get()) - 1 : 0;
        result.status = ChainStatus::Valid;
        result.depth = top;
        result.message = "Valid chain of " + std::to_string(top + 1) + " certificate" + (top == 0 ? "" : "s") +
                         " ending at the trust anchor " + subject_text(cert_at(top)) +
                         (as_issuer ? " (validated as a CA certificate)" : "") +
                         (options.hostname ? ", for " + sanitize_text(*options.hostname, false) : std::string()) + ".";
        return result;
    }

    result.status = rc < 0 ? ChainStatus::Unknown : status_for(error);
    if (rc == 0 && error == X509_V_OK) result.status = ChainStatus::Unknown;
    result.depth = error_depth < 0 ? 0 : error_depth;
    if (rc == 0 && error == X509_V_ERR_UNSPECIFIED) {
        // OpenSSL reports a public key it cannot decode (e.g. an EC point
        // off the curve) as an unspecified error; that is a defect of the
        // certificate, not of the verifier, so it is `invalid`.
        const int n = chain ? sk_X509_num(chain.get()) : 1;
        for (int depth = 0; depth < n; ++depth) {
            const bool undecodable = X509_get0_pubkey(cert_at(depth)) == nullptr;
            ERR_clear_error();
            if (undecodable) {
                result.status = ChainStatus::Invalid;
                result.depth = depth;
                result.message = "Certificate at depth " + std::to_string(depth) + " (" + subject_text(cert_at(depth)) +
                                 ") has a public key that cannot be decoded.";
                return result;
            }
        }
    }
    const char* reason = X509_verify_cert_error_string(error);
    std::string what = reason != nullptr ? reason : "verification failed";
    if (result.status == ChainStatus::HostnameMismatch) {
        result.message = "The leaf (" + subject_text(leaf) + ") is not valid for " +
                         sanitize_text(options.hostname.value_or(""), false) + ": no subjectAltName matches.";
    } else {
        const std::string who = "Certificate at depth " + std::to_string(result.depth) + " (" +
                                subject_text(cert_at(result.depth)) + ")";
        switch (result.status) {
        case ChainStatus::SelfSigned:
            result.message = who + " is self-signed and not a trust anchor.";
            break;
        case ChainStatus::NoChain:
            result.message = who + " has no issuer among the intermediates and trust anchors (" + what + ").";
            break;
        case ChainStatus::UntrustedRoot:
            result.message = who + " is a root that is not a trust anchor (" + what + ").";
            break;
        default:
            result.message = who + " fails: " + what + ".";
            break;
        }
    }
    return result;
}

}  // namespace netbox_ssl

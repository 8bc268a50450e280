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
#include "core/psl.hpp"
#include "core/x509_text.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <unordered_set>
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
using PolicyConstraintsPtr = Owned<POLICY_CONSTRAINTS, POLICY_CONSTRAINTS_free>;

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
        // CA/B BR 6.1.5: "the modulus size, when encoded, MUST be divisible
        // by 8" (limbo webpki::forbidden-rsa-not-divisible-by-8-*). Applies
        // to every certificate, the root included.
        if (bits % 8 != 0) {
            return "has a " + std::to_string(bits) +
                   "-bit RSA modulus, not a multiple of 8 bits as the CA/B Baseline Requirements (6.1.5) require";
        }
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

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// CA/B BR 7.1.4.3 (subject commonName): when present, the CN is a copy of
// one subjectAltName value: character for character for a dNSName, an IPv4
// address in dotted decimal without leading zeros, an IPv6 address in RFC
// 5952 section 4 text. A CN that names one of the SANs in another spelling
// (letter case, hex or zero-padded IPv4, uncompressed or upper-case IPv6,
// a U-label for an A-label SAN) is refused. A CN unrelated to every SAN is
// tolerated: it is never used as a host name here (RFC 6125 6.4.4), and
// the RFC 5280 cases of limbo (CN=example.com beside other SANs) expect it.
std::optional<std::string> common_name_problem(X509* cert, const GENERAL_NAMES* sans) {
    X509_NAME* subject = X509_get_subject_name(cert);
    for (int pos = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); pos >= 0;
         pos = X509_NAME_get_index_by_NID(subject, NID_commonName, pos)) {
        const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
        unsigned char* utf8 = nullptr;
        const int len = ASN1_STRING_to_UTF8(&utf8, value);
        if (len < 0) {
            ERR_clear_error();
            return "has a subject commonName that cannot be decoded (CA/B BR 7.1.4.3)";
        }
        const std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
        OPENSSL_free(utf8);
        bool exact = false;
        bool near = false;
        bool non_ascii = false;
        for (char ch : cn) non_ascii = non_ascii || static_cast<unsigned char>(ch) >= 0x80;
        unsigned char ip4[4] = {};
        unsigned char ip6[16] = {};
        in_addr addr4{};
        const bool cn_ip4 = cn.find_first_not_of("0123456789abcdefxABCDEFX.") == std::string::npos && inet_aton(cn.c_str(), &addr4) != 0;
        if (cn_ip4) std::memcpy(ip4, &addr4, 4);
        // Zero-padded decimal ("192.0.2.010") read as decimal, as a person
        // would; inet_aton above reads it as octal.
        unsigned char dec4[4] = {};
        unsigned parts[4] = {};
        char tail = 0;
        const bool cn_dec4 = std::sscanf(cn.c_str(), "%u.%u.%u.%u%c", &parts[0], &parts[1], &parts[2], &parts[3], &tail) == 4 &&
                             parts[0] < 256 && parts[1] < 256 && parts[2] < 256 && parts[3] < 256;
        for (int k = 0; k < 4; ++k) dec4[k] = static_cast<unsigned char>(parts[k]);
        const bool cn_ip6 = inet_pton(AF_INET6, cn.c_str(), ip6) == 1;
        for (int i = 0; i < sk_GENERAL_NAME_num(sans) && !exact; ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
            if (gn->type == GEN_DNS) {
                const std::string_view name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                            static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
                exact = cn == name;
                near = near || lower(cn) == lower(name) || (non_ascii && lower(name).find("xn--") != std::string::npos);
            } else if (gn->type == GEN_IPADD) {
                const unsigned char* ip = ASN1_STRING_get0_data(gn->d.iPAddress);
                const int iplen = ASN1_STRING_length(gn->d.iPAddress);
                // The SAN's canonical text: a dotted quad, or RFC 5952 (ip_text).
                if (iplen == 4) {
                    exact = cn == ip_text(ip, 4);
                    near = near || (cn_ip4 && std::memcmp(ip4, ip, 4) == 0) || (cn_dec4 && std::memcmp(dec4, ip, 4) == 0);
                } else if (iplen == 16) {
                    exact = cn == ip_text(ip, 16);
                    near = near || (cn_ip6 && std::memcmp(ip6, ip, 16) == 0);
                }
            }
        }
        if (!exact && near) {
            return "has a subject commonName \"" + sanitize_text(cn, false) +
                   "\" that is not an exact copy of its subjectAltName value (CA/B BR 7.1.4.3)";
        }
    }
    return std::nullopt;
}

bool has_dns_san(const GENERAL_NAMES* sans, std::string_view wanted) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
        if (gn->type != GEN_DNS) continue;
        const std::string_view name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                    static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
        if (name.size() != wanted.size()) continue;
        bool same = true;
        for (std::size_t k = 0; k < name.size() && same; ++k) {
            same = std::tolower(static_cast<unsigned char>(name[k])) == std::tolower(static_cast<unsigned char>(wanted[k]));
        }
        if (same) return true;
    }
    return false;
}

std::optional<std::string> leaf_problem(X509* cert) {
    int crit = -1;
    BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, &crit, nullptr)));
    // A CA certificate may be the certificate validated (RFC 5280 6.1: the
    // leaf of a path is not an intermediate, so its pathLenConstraint is
    // ignored too; limbo pathlen::validation-ignores-pathlen-in-leaf), but
    // cA=TRUE must come with keyCertSign (RFC 5280 4.2.1.9/4.2.1.3, CA/B BR
    // 7.1.2.7.8: a subscriber certificate is not a half-CA;
    // limbo webpki::ee-basicconstraints-ca).
    if (bc && bc->ca != 0 && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
        return "is a CA certificate (cA=TRUE) without keyCertSign used as a server certificate (CA/B BR 7.1.2.7.8)";
    }

    // extendedKeyUsage may be absent (RFC 5280 4.2.1.12: any purpose;
    // limbo rfc5280::eku::ee-without-eku); when present it must hold
    // serverAuth (OpenSSL's purpose check), not be critical and not hold
    // anyExtendedKeyUsage (CA/B BR 7.1.2.7.10).
    crit = -1;
    EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
    ERR_clear_error();
    if (eku && crit == 1) return "has a critical extendedKeyUsage extension (CA/B BR 7.1.2.7.10)";
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
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
            // CA/B BR 3.2.2.6: no wildcard directly above a public suffix
            // ("*.co.uk", "*.github.io"), from the Public Suffix List. The
            // BR's exception ("unless the Applicant proves its rightful
            // control of the entire Domain Namespace") is honoured for a
            // private-section suffix whose certificate also names the
            // suffix itself: *.s3.amazonaws.com with s3.amazonaws.com, as
            // Amazon's real certificates do. Never for an ICANN suffix.
            if (!wildcard_allowed(name) &&
                (public_suffix_kind(name.substr(2)) == SuffixKind::Icann || !has_dns_san(sans.get(), name.substr(2)))) {
                return "has the wildcard \"" + sanitize_text(name, false) +
                       "\" above a public suffix in its subjectAltName (CA/B BR 3.2.2.6)";
            }
        } else if (gn->type == GEN_IPADD) {
            const int len = ASN1_STRING_length(gn->d.iPAddress);
            if (len != 4 && len != 16) return "has a malformed IP address in its subjectAltName (RFC 5280 4.2.1.6)";
        }
    }

    if (std::optional<std::string> cn = common_name_problem(cert, sans.get())) return cn;

    crit = -1;
    NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &crit, nullptr)));
    ERR_clear_error();
    if (nc || crit != -1) return "is an end-entity certificate with a nameConstraints extension (RFC 5280 4.2.1.10)";
    return std::nullopt;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// RFC 5280 4.2.1.10 applied defensively to wildcards: OpenSSL compares a
// wildcard SAN "*.X" as the literal string, so an excluded subtree inside
// what the wildcard can match (excluded "bar.example.com" against
// "*.example.com") slips through. The wildcard is refused when some name it
// can match lies in an excluded dNSName subtree: the subtree is X itself or
// above it (".X" ends with the base), or it is one label below X. A leading
// period (".example.com", the subdomains only) is understood as OpenSSL and
// RFC 5280's URI form do: every name ending in it.
bool wildcard_meets_excluded(const std::string& wildcard_base, std::string base) {
    if (base.empty()) return true;
    const bool subdomains_only = base.front() == '.';
    if (subdomains_only) base.erase(0, 1);
    if (base.empty()) return true;
    // Every name "L.X" ends with ".base" when X is base or below it.
    if (wildcard_base == base || ends_with(wildcard_base, "." + base)) return true;
    // base = "L.X" (exactly one label more) is itself a name "*.X" matches;
    // with a leading period its subdomains are two labels below X: no.
    if (!subdomains_only && ends_with(base, "." + wildcard_base)) {
        const std::string label = base.substr(0, base.size() - wildcard_base.size() - 1);
        return label.find('.') == std::string::npos;
    }
    return false;
}

std::optional<std::string> excluded_wildcard_problem(X509* leaf, X509* ca) {
    int crit = -1;
    NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(ca, NID_name_constraints, &crit, nullptr)));
    ERR_clear_error();
    if (!nc || sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0) return std::nullopt;
    crit = -1;
    GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, nullptr)));
    ERR_clear_error();
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
        if (gn->type != GEN_DNS) continue;
        const std::string name = lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                                        static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName))));
        if (name.size() < 3 || name.compare(0, 2, "*.") != 0) continue;
        const std::string wildcard_base = name.substr(2);
        for (int j = 0; j < sk_GENERAL_SUBTREE_num(nc->excludedSubtrees); ++j) {
            const GENERAL_SUBTREE* st = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, j);
            if (st->base == nullptr || st->base->type != GEN_DNS) continue;
            const std::string base = lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(st->base->d.dNSName)),
                                                            static_cast<std::size_t>(ASN1_STRING_length(st->base->d.dNSName))));
            if (wildcard_meets_excluded(wildcard_base, base)) {
                return "excludes \"" + sanitize_text(base, false) + "\", which the leaf's wildcard \"" +
                       sanitize_text(name, false) + "\" can match (RFC 5280 4.2.1.10)";
            }
        }
    }
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
    // RFC 5280 4.2.1.11: "Conforming CAs MUST mark this extension as
    // critical" (limbo rfc5280::pc::ica-noncritical-pc). The anchor is
    // trusted as configured.
    if (!anchor) {
        crit = -1;
        PolicyConstraintsPtr pc(static_cast<POLICY_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_policy_constraints, &crit, nullptr)));
        ERR_clear_error();
        if (crit == 0) return "has a non-critical policyConstraints extension (RFC 5280 4.2.1.11 requires it critical)";
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
        if (!problem && depth > 0 && !as_issuer) problem = excluded_wildcard_problem(sk_X509_value(chain, 0), cert);
        if (problem) return Finding{depth, std::move(*problem)};
    }
    return std::nullopt;
}

struct RevocationFinding {
    // cppcheck-suppress unusedStructMember
    ChainStatus status;
    // cppcheck-suppress unusedStructMember
    int depth;
    // cppcheck-suppress unusedStructMember
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
// SignatureCache
// ---------------------------------------------------------------------------

struct SignatureCache::Impl {
    using Pair = std::pair<X509*, X509*>;  // (child, issuer)
    struct PairHash {
        std::size_t operator()(const Pair& p) const noexcept {
            const std::size_t a = std::hash<X509*>()(p.first);
            return a ^ (std::hash<X509*>()(p.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
        }
    };
    explicit Impl(std::size_t max) : max_pairs(max) {}
    ~Impl() { release(); }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    bool contains(X509* child, X509* issuer) noexcept {
        if (pairs.find(Pair(child, issuer)) == pairs.end()) return false;
        ++hits;
        return true;
    }
    // A signature check done; `keep`: record the pair (it verified). Each
    // recorded certificate is held by one reference, so its address cannot
    // be reused by another certificate while the pair is cached.
    void verified(X509* child, X509* issuer, bool keep) noexcept {
        ++misses;
        if (!keep || max_pairs == 0) return;
        if (pairs.size() >= max_pairs) release();
        if (X509_up_ref(child) != 1) return;
        if (X509_up_ref(issuer) != 1) {
            X509_free(child);
            return;
        }
        try {
            if (pairs.emplace(child, issuer).second) return;
        } catch (...) {  // out of memory: simply not cached
        }
        X509_free(child);
        X509_free(issuer);
    }
    void release() noexcept {
        for (const Pair& p : pairs) {
            X509_free(p.first);
            X509_free(p.second);
        }
        pairs.clear();
    }

    std::unordered_set<Pair, PairHash> pairs;
    std::size_t max_pairs;
    std::size_t hits = 0;
    std::size_t misses = 0;
};

SignatureCache::SignatureCache(std::size_t max_pairs) : impl_(std::make_unique<Impl>(max_pairs)) {}
SignatureCache::~SignatureCache() = default;
std::size_t SignatureCache::size() const { return impl_->pairs.size(); }
std::size_t SignatureCache::hits() const { return impl_->hits; }
std::size_t SignatureCache::misses() const { return impl_->misses; }
void SignatureCache::clear() noexcept { impl_->release(); }

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
    OwningStackPtr anchors;  // the same certificates as the store, for path building
};

ChainValidator::ChainValidator(const CertificateSet& anchors, const CertificateSet& intermediates)
    : impl_(std::make_unique<Impl>()) {
    ErrorQueueGuard guard;
    impl_->store.reset(X509_STORE_new());
    impl_->pool.reset(sk_X509_new_null());
    impl_->anchors.reset(sk_X509_new_null());
    if (!impl_->store || !impl_->pool || !impl_->anchors) internal("allocating the store");
    for (const X509Ptr& cert : anchors.impl().certs) {
        poll_cancel();
        // A duplicate anchor is harmless: the store keeps one copy.
        if (X509_STORE_add_cert(impl_->store.get(), cert.get()) != 1) ERR_clear_error();
        if (sk_X509_push(impl_->anchors.get(), cert.get()) <= 0) internal("sk_X509_push");
        X509_up_ref(cert.get());
    }
    for (const X509Ptr& cert : intermediates.impl().certs) {
        poll_cancel();
        if (sk_X509_push(impl_->pool.get(), cert.get()) <= 0) internal("sk_X509_push");
        X509_up_ref(cert.get());
    }
}

ChainValidator::~ChainValidator() = default;

namespace {

// Path building (issue "Trust", item 2). OpenSSL's X509_verify_cert builds
// one path and does not backtrack, so when the path it chose fails, the
// other candidate paths are built here and each is verified by OpenSSL on
// its own (only that path's intermediates untrusted, only its anchor
// trusted). Bounded against hostile pools:
constexpr int kMaxExaminedPerLevel = 32;  // name/key-id matches looked at per certificate
constexpr int kMaxIssuersPerLevel = 8;    // issuers whose signature verifies, kept per certificate
constexpr int kMaxPathAttempts = 64;      // candidate paths verified, OpenSSL's own included
constexpr int kMaxExpansions = 1024;      // certificates expanded in the whole search
// OpenSSL's own depth limit lets self-issued intermediates through (they do
// not count against max_depth, RFC 5280 6.1.4 (l)); the exact limit is
// checked on the path (logical_intermediates).
constexpr int kSelfIssuedAllowance = 8;

bool self_issued(X509* cert) { return X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0; }

// max_depth counts the intermediates between leaf and anchor that are not
// self-issued (RFC 5280 6.1.4 (l), limbo pathlen::max-chain-depth-*).
int logical_intermediates(STACK_OF(X509)* chain) {
    int count = 0;
    for (int i = 1; i + 1 < sk_X509_num(chain); ++i) count += self_issued(sk_X509_value(chain, i)) ? 0 : 1;
    return count;
}

struct VerifyContext {
    bool web_pki;
    SignatureCache* signatures;  // null: OpenSSL's own internal verification
};

// RFC 5280 4.1.2.5: the validity period includes notAfter itself; OpenSSL
// reports "expired" at exactly notAfter (X509_cmp_time treats equal as
// earlier), so that one error is forgiven at that exact second. The limbo
// cases with fractional validation times floor to the second, which is
// notAfter's own granularity.
// A leaf whose only fault for OpenSSL's sslserver purpose is its keyUsage
// (e.g. a CA certificate with keyCertSign used as a leaf) is acceptable
// under the web-PKI rules when its extendedKeyUsage (if any) holds
// serverAuth and it has a subjectAltName; otherwise OpenSSL's verdict
// stands (and its message with it).
int verify_callback(int ok, X509_STORE_CTX* ctx) {
    if (ok != 0) return ok;
    const int error = X509_STORE_CTX_get_error(ctx);
    X509* cert = X509_STORE_CTX_get_current_cert(ctx);
    if (error == X509_V_ERR_CERT_HAS_EXPIRED && cert != nullptr) {
        const time_t at = X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(ctx));
        if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), at) == 0) return 1;
    }
    const auto* vc = static_cast<const VerifyContext*>(X509_STORE_CTX_get_app_data(ctx));
    if (error == X509_V_ERR_INVALID_PURPOSE && vc != nullptr && vc->web_pki && cert != nullptr &&
        X509_STORE_CTX_get_error_depth(ctx) == 0) {
        const uint32_t xku = X509_get_extended_key_usage(cert);  // UINT32_MAX when absent
        int crit = -1;
        GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
        ERR_clear_error();
        if ((xku & XKU_SSL_SERVER) != 0 && sans && sk_GENERAL_NAME_num(sans.get()) > 0) return 1;
    }
    return ok;
}

// The signature of `child` by `issuer`, from the run's cache when it holds
// the pair. A pair is recorded only when `record` (the child is an issuer
// in the path, not the certificate validated) and the signature verified.
// Called from inside OpenSSL's verifier: never throws.
bool signature_verified(SignatureCache* cache, X509* child, X509* issuer, EVP_PKEY* key, bool record) noexcept {
    if (cache != nullptr && cache->impl().contains(child, issuer)) return true;
    const bool ok = X509_verify(child, key) > 0;
    if (cache != nullptr) cache->impl().verified(child, issuer, ok && record);
    return ok;
}

// OpenSSL's verify_cb_cert: report `error` about `cert` at `depth` to the
// verify callback; 0 stops the verification.
int report(X509_STORE_CTX* ctx, X509* cert, int depth, int error) {
    X509_STORE_CTX_set_error_depth(ctx, depth);
    X509_STORE_CTX_set_current_cert(ctx, cert);
    if (error != X509_V_OK) X509_STORE_CTX_set_error(ctx, error);
    return X509_STORE_CTX_get_verify_cb(ctx)(0, ctx);
}

// OpenSSL 3.0's validity check of one certificate of the built chain
// (ossl_x509_check_cert_time with a depth): the same comparisons, errors
// and callback calls.
int cert_time_ok(X509_STORE_CTX* ctx, X509* cert, int depth) {
    const X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    const unsigned long flags = X509_VERIFY_PARAM_get_flags(param);
    time_t check_time = X509_VERIFY_PARAM_get_time(param);
    time_t* when = nullptr;  // null: the current time
    if ((flags & X509_V_FLAG_USE_CHECK_TIME) != 0) {
        when = &check_time;
    } else if ((flags & X509_V_FLAG_NO_CHECK_TIME) != 0) {
        return 1;
    }
    int cmp = X509_cmp_time(X509_get0_notBefore(cert), when);
    if (cmp == 0 && report(ctx, cert, depth, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD) == 0) return 0;
    if (cmp > 0 && report(ctx, cert, depth, X509_V_ERR_CERT_NOT_YET_VALID) == 0) return 0;
    cmp = X509_cmp_time(X509_get0_notAfter(cert), when);
    if (cmp == 0 && report(ctx, cert, depth, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD) == 0) return 0;
    if (cmp < 0 && report(ctx, cert, depth, X509_V_ERR_CERT_HAS_EXPIRED) == 0) return 0;
    return 1;
}

// OpenSSL 3.0's key usage test before a signature check
// (ossl_x509_signing_allowed): an issuer with a keyUsage extension must
// allow keyCertSign (digitalSignature for a proxy certificate).
int signing_allowed(X509* issuer, X509* subject) {
    const bool proxy = (X509_get_extension_flags(subject) & EXFLAG_PROXY) != 0;
    const uint32_t needed = proxy ? KU_DIGITAL_SIGNATURE : KU_KEY_CERT_SIGN;
    if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(issuer) & needed) == 0) {
        return proxy ? X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE : X509_V_ERR_KEYUSAGE_NO_CERTSIGN;
    }
    return X509_V_OK;
}

// The verification step of X509_verify_cert (signatures and validity times
// of the built chain, from the anchor down), installed with
// X509_STORE_CTX_set_verify only when a SignatureCache is given. It does
// what OpenSSL 3.0's internal_verify does, in the same order, with the same
// error codes, depths and callback calls, except that a signature the cache
// holds is not verified again: the anchor's self-signature only under
// X509_V_FLAG_CHECK_SS_SIGNATURE; the top of a partial chain, or a lone
// certificate that is not self-issued, gets no signature check (the latter
// after reporting UNABLE_TO_VERIFY_LEAF_SIGNATURE). DANE (not used here) is
// not handled; OpenSSL's current_issuer is not set (no public setter, and
// nothing of ours reads it).
int verify_with_cache(X509_STORE_CTX* ctx) {
    const auto* vc = static_cast<const VerifyContext*>(X509_STORE_CTX_get_app_data(ctx));
    SignatureCache* cache = vc != nullptr ? vc->signatures : nullptr;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
    const unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));
    int n = sk_X509_num(chain) - 1;
    if (n < 0) return 0;
    X509* xi = sk_X509_value(chain, n);
    X509* xs = xi;
    bool check_signature = true;
    if (X509_STORE_CTX_get_check_issued(ctx)(ctx, xi, xi) != 0) {
        xs = xi;  // the usual case: the chain ends in a self-issued certificate
    } else if ((flags & X509_V_FLAG_PARTIAL_CHAIN) != 0) {
        check_signature = false;
    } else if (n <= 0) {
        if (report(ctx, xi, 0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE) == 0) return 0;
        check_signature = false;
    } else {
        --n;
        X509_STORE_CTX_set_error_depth(ctx, n);
        xs = sk_X509_value(chain, n);
    }
    while (n >= 0) {
        // n is the depth of xs; xi is its issuer (xs itself at a self-issued top).
        if (check_signature && (xs != xi || ((flags & X509_V_FLAG_CHECK_SS_SIGNATURE) != 0 &&
                                             (X509_get_extension_flags(xi) & EXFLAG_SS) != 0))) {
            const int issuer_depth = n + (xs == xi ? 0 : 1);
            const int allowed =
                xs == xi && (X509_get_extension_flags(xi) & EXFLAG_CA) == 0 ? X509_V_OK : signing_allowed(xi, xs);
            if (allowed != X509_V_OK && report(ctx, xi, issuer_depth, allowed) == 0) return 0;
            EVP_PKEY* key = X509_get0_pubkey(xi);
            if (key == nullptr) {
                if (report(ctx, xi, issuer_depth, X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY) == 0) return 0;
            } else if (!signature_verified(cache, xs, xi, key, n > 0)) {
                if (report(ctx, xs, n, X509_V_ERR_CERT_SIGNATURE_FAILURE) == 0) return 0;
            }
        }
        check_signature = true;
        if (cert_time_ok(ctx, xs, n) == 0) return 0;
        // Success at this depth (an earlier error, if forgiven, stays).
        X509_STORE_CTX_set_current_cert(ctx, xs);
        X509_STORE_CTX_set_error_depth(ctx, n);
        if (X509_STORE_CTX_get_verify_cb(ctx)(1, ctx) == 0) return 0;
        if (--n >= 0) {
            xi = xs;
            xs = sk_X509_value(chain, n);
        }
    }
    return 1;
}

struct Attempt {
    ChainResult result;
    bool passed = false;
};

class PathVerifier {
public:
    PathVerifier(X509_STORE* store, X509* leaf, const ChainOptions& options, bool as_issuer)
        : store_(store), leaf_(leaf), options_(options), as_issuer_(as_issuer) {}

    // One verification: OpenSSL's own path building over `untrusted` and
    // the store's anchors, or, with `trusted`, over exactly those anchors.
    Attempt run(STACK_OF(X509)* untrusted, STACK_OF(X509)* trusted) const;

private:
    X509_STORE* store_;
    X509* leaf_;
    const ChainOptions& options_;
    bool as_issuer_;
};

Attempt PathVerifier::run(STACK_OF(X509)* untrusted, STACK_OF(X509)* trusted) const {
    ErrorQueueGuard guard;
    X509* leaf = leaf_;
    const ChainOptions& options = options_;
    const bool as_issuer = as_issuer_;
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store_, leaf, untrusted) != 1) internal("X509_STORE_CTX_init");
    if (trusted != nullptr) X509_STORE_CTX_set0_trusted_stack(ctx.get(), trusted);
    VerifyContext vc{options.web_pki, options.signature_cache};
    X509_STORE_CTX_set_app_data(ctx.get(), &vc);
    X509_STORE_CTX_set_verify_cb(ctx.get(), verify_callback);
    if (options.signature_cache != nullptr) X509_STORE_CTX_set_verify(ctx.get(), verify_with_cache);
    if (X509_STORE_CTX_set_purpose(ctx.get(), as_issuer ? X509_PURPOSE_ANY : X509_PURPOSE_SSL_SERVER) != 1) {
        internal("set_purpose");
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    // Only a path that ends at a trust anchor counts; an anchor that is an
    // intermediate does not end the path early.
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.at));
    const int max_depth = std::max(0, options.max_depth);
    X509_VERIFY_PARAM_set_depth(param, std::min(max_depth, 100) + kSelfIssuedAllowance);
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

    Attempt attempt;
    ChainResult& result = attempt.result;
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
        if (chain && logical_intermediates(chain.get()) > max_depth) {
            // Worded as OpenSSL words its own depth error, about the first
            // intermediate beyond the limit (as OpenSSL reports it).
            const int top = sk_X509_num(chain.get()) - 1;
            const int over = std::min(top, max_depth + 1);
            result.status = ChainStatus::Invalid;
            result.depth = over;
            result.message = "Certificate at depth " + std::to_string(over) + " (" + subject_text(cert_at(over)) +
                             ") fails: certificate chain too long.";
            return attempt;
        }
        std::optional<Finding> finding;
        if (options.web_pki && chain) finding = web_pki_finding(chain.get(), as_issuer);
        if (finding) {
            result.status = ChainStatus::Invalid;
            result.depth = finding->depth;
            result.message = "Certificate at depth " + std::to_string(finding->depth) + " (" +
                             subject_text(cert_at(finding->depth)) + ") " + finding->reason + ".";
            return attempt;
        }
        if (chain) {
            if (std::optional<RevocationFinding> revoked = revocation_finding(chain.get(), options)) {
                result.status = revoked->status;
                result.depth = revoked->depth;
                result.message = "Certificate at depth " + std::to_string(revoked->depth) + " (" +
                                 subject_text(cert_at(revoked->depth)) + ") " + revoked->reason + ".";
                return attempt;
            }
        }
        const int top = chain ? sk_X509_num(chain.get()) - 1 : 0;
        result.status = ChainStatus::Valid;
        result.depth = top;
        result.message = "Valid chain of " + std::to_string(top + 1) + " certificate" + (top == 0 ? "" : "s") +
                         " ending at the trust anchor " + subject_text(cert_at(top)) +
                         (as_issuer ? " (validated as a CA certificate)" : "") +
                         (options.hostname ? ", for " + sanitize_text(*options.hostname, false) : std::string()) + ".";
        attempt.passed = true;
        return attempt;
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
                return attempt;
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
    return attempt;
}

// Depth-first search for candidate paths from the leaf to a self-issued
// trust anchor (or the leaf itself when it is an anchor: pinning). Issuer
// candidates are found by subject name and AKI/SKI (X509_check_issued)
// among the anchors first, then the per-call intermediates, then the pool;
// only those whose signature on the child verifies are followed. A
// certificate appears at most once per path, so cycles end.
class PathSearch {
public:
    PathSearch(std::vector<X509*> anchors, std::vector<X509*> untrusted, int max_depth, SignatureCache* signatures)
        : anchors_(std::move(anchors)), untrusted_(std::move(untrusted)), max_depth_(max_depth), signatures_(signatures) {}

    // Calls `visit(path)` for each complete path until it returns true or a
    // limit is reached; returns whether a limit stopped the search.
    template <typename Visit>
    bool run(X509* leaf, Visit&& visit) {
        std::vector<X509*> path{leaf};
        leaf_ = leaf;
        stop_ = false;
        limited_ = false;
        dfs(path, 0, visit);
        return limited_;
    }

private:
    bool is_anchor(X509* cert) const {
        for (X509* a : anchors_) {
            if (a == cert || X509_cmp(a, cert) == 0) return true;
        }
        return false;
    }

    const std::vector<X509*>& issuers_of(X509* cert) {
        auto it = memo_.find(cert);
        if (it != memo_.end()) return it->second;
        std::vector<X509*> found;
        int examined = 0;
        auto consider = [&](X509* cand) {
            if (static_cast<int>(found.size()) >= kMaxIssuersPerLevel || examined >= kMaxExaminedPerLevel) return;
            if (cand == cert || X509_cmp(cand, cert) == 0) return;
            if (X509_check_issued(cand, cert) != X509_V_OK) return;
            ++examined;
            for (X509* f : found) {
                if (X509_cmp(f, cand) == 0) return;  // the same certificate twice
            }
            EVP_PKEY* key = X509_get0_pubkey(cand);
            if (key != nullptr && signature_verified(signatures_, cert, cand, key, cert != leaf_)) found.push_back(cand);
            ERR_clear_error();
        };
        for (X509* a : anchors_) consider(a);
        for (X509* u : untrusted_) consider(u);
        return memo_.emplace(cert, std::move(found)).first->second;
    }

    template <typename Visit>
    void dfs(std::vector<X509*>& path, int logical, Visit& visit) {
        if (stop_) return;
        poll_cancel();
        X509* cur = path.back();
        // A path ends at a self-signed trust anchor (partial chains are off).
        const bool root = X509_check_issued(cur, cur) == X509_V_OK;
        ERR_clear_error();
        if (root && is_anchor(cur)) {
            if (++attempts_ > kMaxPathAttempts) {
                limited_ = true;
                stop_ = true;
                return;
            }
            if (visit(path)) stop_ = true;
            return;
        }
        if (++expansions_ > kMaxExpansions) {
            limited_ = true;
            stop_ = true;
            return;
        }
        const std::vector<X509*> issuers = issuers_of(cur);
        for (X509* issuer : issuers) {
            if (std::find(path.begin(), path.end(), issuer) != path.end()) continue;
            bool repeated = false;
            for (X509* p : path) repeated = repeated || X509_cmp(p, issuer) == 0;
            if (repeated) continue;
            // `cur` becomes an intermediate when it is not the leaf.
            const int next_logical = logical + (path.size() > 1 && !self_issued(cur) ? 1 : 0);
            if (next_logical > max_depth_) continue;
            if (static_cast<int>(path.size()) > max_depth_ + kSelfIssuedAllowance + 1) continue;
            path.push_back(issuer);
            dfs(path, next_logical, visit);
            path.pop_back();
            if (stop_) return;
        }
    }

    std::vector<X509*> anchors_;
    std::vector<X509*> untrusted_;
    int max_depth_;
    SignatureCache* signatures_;  // null: every signature verified
    X509* leaf_ = nullptr;
    std::map<X509*, std::vector<X509*>> memo_;
    int attempts_ = 1;  // OpenSSL's own path was the first attempt
    int expansions_ = 0;
    bool stop_ = false;
    bool limited_ = false;
};

}  // namespace

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
    std::vector<X509*> untrusted_list;
    auto add_untrusted = [&](X509* cert) {
        if (sk_X509_push(untrusted.get(), cert) <= 0) internal("sk_X509_push");
        untrusted_list.push_back(cert);
    };
    for (std::size_t i = 1; i < leaf_certs.size(); ++i) add_untrusted(leaf_certs[i].get());
    for (const X509Ptr& cert : extra.impl().certs) add_untrusted(cert.get());
    for (int i = 0; i < sk_X509_num(impl_->pool.get()); ++i) add_untrusted(sk_X509_value(impl_->pool.get(), i));

    // A CA certificate checked without a host name (a stored intermediate or
    // root) is validated as an issuer: any purpose, and the CA rules instead
    // of the server-certificate rules. With a host name it is a server
    // certificate like any other (limbo webpki::ee-basicconstraints-ca).
    const bool as_issuer = !options.hostname && X509_check_ca(leaf) != 0;
    const PathVerifier verifier(impl_->store.get(), leaf, options, as_issuer);

    // First OpenSSL's own choice of path; when it passes (the usual case)
    // nothing else is built.
    Attempt first = verifier.run(untrusted.get(), nullptr);
    if (first.passed) return std::move(first.result);

    std::vector<X509*> anchor_list;
    anchor_list.reserve(static_cast<std::size_t>(std::max(0, sk_X509_num(impl_->anchors.get()))));
    for (int i = 0; i < sk_X509_num(impl_->anchors.get()); ++i) anchor_list.push_back(sk_X509_value(impl_->anchors.get(), i));
    PathSearch search(std::move(anchor_list), std::move(untrusted_list), std::max(0, options.max_depth),
                      options.signature_cache);
    std::optional<ChainResult> winner;
    int tried = 1;
    const bool limited = search.run(leaf, [&](const std::vector<X509*>& path) {
        std::vector<std::string> prints(path.size());
        std::transform(path.begin(), path.end(), prints.begin(), [](X509* c) { return fingerprint(c); });
        if (prints == first.result.chain) return false;  // OpenSSL's own path, already tried
        ++tried;
        ShallowStackPtr mids(sk_X509_new_null());
        ShallowStackPtr top(sk_X509_new_null());
        if (!mids || !top) internal("sk_X509_new_null");
        for (std::size_t i = 1; i + 1 < path.size(); ++i) {
            if (sk_X509_push(mids.get(), path[i]) <= 0) internal("sk_X509_push");
        }
        if (sk_X509_push(top.get(), path.back()) <= 0) internal("sk_X509_push");
        Attempt attempt = verifier.run(mids.get(), top.get());
        if (attempt.passed && attempt.result.chain == prints) {
            winner = std::move(attempt.result);
            return true;
        }
        return false;
    });
    if (winner) return std::move(*winner);
    if (limited) {
        ChainResult result = std::move(first.result);
        result.status = ChainStatus::Invalid;
        result.depth = 0;
        result.message = "Certificate at depth 0 (" + subject_text(leaf) +
                         ") has no valid path to a trust anchor: path building stopped after " + std::to_string(tried) +
                         " candidate paths.";
        return result;
    }
    return std::move(first.result);
}

}  // namespace netbox_ssl

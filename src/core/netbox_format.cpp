// The NetBox SSL plugin's field formats; see netbox_format.hpp and
// docs/netbox-formats.md. Every rule here reproduces what the plugin's
// parser (Python, with the `cryptography` library) stores, re-derived from
// the behaviour described in shared/reference/netbox-plugin-behaviour.md.
#include "core/netbox_format.hpp"

#include "core/certificate.hpp"
#include "core/encoding.hpp"
#include "core/fast_x509.hpp"
#include "core/openssl_ptr.hpp"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>

namespace netbox_ssl {

namespace {

using X509Ptr = Owned<X509, X509_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using EcGroupPtr = Owned<EC_GROUP, EC_GROUP_free>;

// Clears OpenSSL's error queue on entry and on every way out.
struct QueueGuard {
    QueueGuard() { ERR_clear_error(); }
    ~QueueGuard() { ERR_clear_error(); }
    QueueGuard(const QueueGuard&) = delete;
    QueueGuard& operator=(const QueueGuard&) = delete;
};

[[noreturn]] void malformed(const std::string& message) { throw Error(ErrorKind::Malformed, message); }

// OID -> cryptography's long name (its _OID_NAMES table, cryptography 48).
struct OidName {
    const char* oid;
    const char* name;
};
constexpr OidName kOidNames[] = {
    {"2.5.4.3", "commonName"},
    {"2.5.4.6", "countryName"},
    {"2.5.4.7", "localityName"},
    {"2.5.4.8", "stateOrProvinceName"},
    {"2.5.4.9", "streetAddress"},
    {"2.5.4.10", "organizationName"},
    {"2.5.4.11", "organizationalUnitName"},
    {"2.5.4.5", "serialNumber"},
    {"2.5.4.4", "surname"},
    {"2.5.4.42", "givenName"},
    {"2.5.4.12", "title"},
    {"2.5.4.44", "generationQualifier"},
    {"2.5.4.45", "x500UniqueIdentifier"},
    {"2.5.4.46", "dnQualifier"},
    {"2.5.4.65", "pseudonym"},
    {"0.9.2342.19200300.100.1.1", "userID"},
    {"0.9.2342.19200300.100.1.25", "domainComponent"},
    {"1.2.840.113549.1.9.1", "emailAddress"},
    {"1.3.6.1.4.1.311.60.2.1.3", "jurisdictionCountryName"},
    {"1.3.6.1.4.1.311.60.2.1.1", "jurisdictionLocalityName"},
    {"1.3.6.1.4.1.311.60.2.1.2", "jurisdictionStateOrProvinceName"},
    {"2.5.4.15", "businessCategory"},
    {"2.5.4.16", "postalAddress"},
    {"2.5.4.17", "postalCode"},
    {"1.2.643.3.131.1.1", "INN"},
    {"1.2.643.100.1", "OGRN"},
    {"1.2.643.100.3", "SNILS"},
    {"1.2.840.113549.1.9.2", "unstructuredName"},
    {"1.2.840.113549.1.1.4", "md5WithRSAEncryption"},
    {"1.2.840.113549.1.1.5", "sha1WithRSAEncryption"},
    {"1.2.840.113549.1.1.14", "sha224WithRSAEncryption"},
    {"1.2.840.113549.1.1.11", "sha256WithRSAEncryption"},
    {"1.2.840.113549.1.1.12", "sha384WithRSAEncryption"},
    {"1.2.840.113549.1.1.13", "sha512WithRSAEncryption"},
    {"1.2.840.113549.1.1.10", "rsassaPss"},
    {"1.2.840.10045.4.1", "ecdsa-with-SHA1"},
    {"1.2.840.10045.4.3.1", "ecdsa-with-SHA224"},
    {"1.2.840.10045.4.3.2", "ecdsa-with-SHA256"},
    {"1.2.840.10045.4.3.3", "ecdsa-with-SHA384"},
    {"1.2.840.10045.4.3.4", "ecdsa-with-SHA512"},
    {"1.2.840.10040.4.3", "dsa-with-sha1"},
    {"2.16.840.1.101.3.4.3.1", "dsa-with-sha224"},
    {"2.16.840.1.101.3.4.3.2", "dsa-with-sha256"},
    {"1.3.101.112", "ed25519"},
    {"1.3.101.113", "ed448"},
    {"1.2.643.2.2.3", "GOST R 34.11-94 with GOST R 34.10-2001"},
    {"1.2.643.7.1.1.3.2", "GOST R 34.10-2012 with GOST R 34.11-2012 (256 bit)"},
    {"1.2.643.7.1.1.3.3", "GOST R 34.10-2012 with GOST R 34.11-2012 (512 bit)"},
    {"1.3.14.3.2.26", "sha1"},
    {"2.16.840.1.101.3.4.2.4", "sha224"},
    {"2.16.840.1.101.3.4.2.1", "sha256"},
    {"2.16.840.1.101.3.4.2.2", "sha384"},
    {"2.16.840.1.101.3.4.2.3", "sha512"},
    {"1.3.6.1.4.1.37476.3.2.1.99.7.224", "sha3_224"},
    {"1.3.6.1.4.1.37476.3.2.1.99.7.256", "sha3_256"},
    {"1.3.6.1.4.1.37476.3.2.1.99.7.384", "sha3_384"},
    {"1.3.6.1.4.1.37476.3.2.1.99.7.512", "sha3_512"},
    {"2.16.840.1.101.3.4.2.7", "sha3_224"},
    {"2.16.840.1.101.3.4.2.8", "sha3_256"},
    {"2.16.840.1.101.3.4.2.9", "sha3_384"},
    {"2.16.840.1.101.3.4.2.10", "sha3_512"},
    {"1.2.840.10040.4.1", "dsaEncryption"},
    {"1.2.840.10045.2.1", "id-ecPublicKey"},
    {"1.2.840.113549.1.1.1", "rsaEncryption"},
    {"1.3.101.110", "X25519"},
    {"1.3.101.111", "X448"},
    {"1.3.6.1.5.5.7.3.1", "serverAuth"},
    {"1.3.6.1.5.5.7.3.2", "clientAuth"},
    {"1.3.6.1.5.5.7.3.3", "codeSigning"},
    {"1.3.6.1.5.5.7.3.4", "emailProtection"},
    {"1.3.6.1.5.5.7.3.8", "timeStamping"},
    {"1.3.6.1.5.5.7.3.9", "OCSPSigning"},
    {"1.3.6.1.4.1.311.20.2.2", "msSmartcardLogin"},
    {"1.3.6.1.5.2.3.5", "pkInitKDC"},
    {"2.5.29.9", "subjectDirectoryAttributes"},
    {"2.5.29.14", "subjectKeyIdentifier"},
    {"2.5.29.15", "keyUsage"},
    {"2.5.29.16", "privateKeyUsagePeriod"},
    {"2.5.29.17", "subjectAltName"},
    {"2.5.29.18", "issuerAltName"},
    {"2.5.29.19", "basicConstraints"},
    {"1.3.6.1.4.1.11129.2.4.2", "signedCertificateTimestampList"},
    {"1.3.6.1.4.1.11129.2.4.5", "signedCertificateTimestampList"},
    {"1.3.6.1.4.1.11129.2.4.3", "ctPoison"},
    {"1.3.6.1.4.1.311.21.7", "msCertificateTemplate"},
    {"1.3.36.8.3.3", "Admissions"},
    {"2.5.29.21", "cRLReason"},
    {"2.5.29.24", "invalidityDate"},
    {"2.5.29.29", "certificateIssuer"},
    {"2.5.29.30", "nameConstraints"},
    {"2.5.29.31", "cRLDistributionPoints"},
    {"2.5.29.32", "certificatePolicies"},
    {"2.5.29.33", "policyMappings"},
    {"2.5.29.35", "authorityKeyIdentifier"},
    {"2.5.29.36", "policyConstraints"},
    {"2.5.29.37", "extendedKeyUsage"},
    {"2.5.29.46", "freshestCRL"},
    {"2.5.29.54", "inhibitAnyPolicy"},
    {"2.5.29.28", "issuingDistributionPoint"},
    {"1.3.6.1.5.5.7.1.1", "authorityInfoAccess"},
    {"1.3.6.1.5.5.7.1.11", "subjectInfoAccess"},
    {"1.3.6.1.5.5.7.48.1.5", "OCSPNoCheck"},
    {"2.5.29.20", "cRLNumber"},
    {"2.5.29.27", "deltaCRLIndicator"},
    {"1.3.6.1.5.5.7.1.24", "TLSFeature"},
    {"1.3.6.1.5.5.7.48.1", "OCSP"},
    {"1.3.6.1.5.5.7.48.2", "caIssuers"},
    {"1.3.6.1.5.5.7.48.5", "caRepository"},
    {"1.3.6.1.5.5.7.2.1", "id-qt-cps"},
    {"1.3.6.1.5.5.7.2.2", "id-qt-unotice"},
    {"1.3.6.1.5.5.7.48.1.2", "OCSPNonce"},
    {"1.2.840.113549.1.9.7", "challengePassword"},
};

// The short names cryptography's RFC 4514 output (str(Name)) uses.
constexpr OidName kRfc4514Names[] = {
    {"2.5.4.3", "CN"},  {"2.5.4.7", "L"},      {"2.5.4.8", "ST"},
    {"2.5.4.10", "O"},  {"2.5.4.11", "OU"},    {"2.5.4.6", "C"},
    {"2.5.4.9", "STREET"}, {"0.9.2342.19200300.100.1.25", "DC"}, {"0.9.2342.19200300.100.1.1", "UID"},
};

// True for strict UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF).
bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char b = p[i];
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2; cp = b & 0x1F; min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3; cp = b & 0x0F; min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4; cp = b & 0x07; min = 0x10000;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

// Text as the plugin stores it: valid UTF-8 is kept as it is, control
// characters included (the plugin keeps them too); NUL, which no
// PostgreSQL text can hold, becomes "\00". Bytes that are not UTF-8 (the
// plugin cannot read those at all) become "\XX" as in our other columns.
std::string plugin_text(std::string_view bytes) {
    if (!valid_utf8(bytes)) return sanitize_text(bytes, false);
    std::string out;
    out.reserve(bytes.size());
    for (char c : bytes) {
        if (c == '\0') {
            out += "\\00";
        } else {
            out += c;
        }
    }
    return out;
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// One DER element with a one-byte tag and a definite length.
struct Tlv {
    unsigned char tag = 0;
    std::string_view content;
    std::string_view whole;
};

bool read_tlv(std::string_view& in, Tlv& out) {
    if (in.size() < 2) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    if ((p[0] & 0x1F) == 0x1F) return false;  // long-form tag
    std::size_t pos = 2;
    std::size_t len = p[1];
    if (len & 0x80) {
        const std::size_t n = len & 0x7F;
        if (n == 0 || n > 4 || in.size() < 2 + n) return false;
        len = 0;
        for (std::size_t k = 0; k < n; ++k) len = (len << 8) | p[2 + k];
        pos += n;
    }
    if (in.size() - pos < len) return false;
    out.tag = p[0];
    out.content = in.substr(pos, len);
    out.whole = in.substr(0, pos + len);
    in.remove_prefix(pos + len);
    return true;
}

bool printable_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::strchr(" '()+,-./:=?", c) != nullptr;
}

// Whether cryptography can decode an attribute value of this tag.
bool value_decodable(const Tlv& v) {
    switch (v.tag) {
    case V_ASN1_BIT_STRING:
        return true;
    case V_ASN1_PRINTABLESTRING:
        return std::all_of(v.content.begin(), v.content.end(), [](char c) { return c != '\0' && printable_char(static_cast<unsigned char>(c)); });
    case V_ASN1_BMPSTRING: {
        if (v.content.size() % 2 != 0) return false;
        const auto* p = reinterpret_cast<const unsigned char*>(v.content.data());
        for (std::size_t i = 0; i < v.content.size(); i += 2) {
            const unsigned u = (static_cast<unsigned>(p[i]) << 8) | p[i + 1];
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (i + 3 >= v.content.size()) return false;
                const unsigned lo = (static_cast<unsigned>(p[i + 2]) << 8) | p[i + 3];
                if (lo < 0xDC00 || lo > 0xDFFF) return false;
                i += 2;
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                return false;
            }
        }
        return true;
    }
    case V_ASN1_UNIVERSALSTRING: {
        if (v.content.size() % 4 != 0) return false;
        const auto* p = reinterpret_cast<const unsigned char*>(v.content.data());
        for (std::size_t i = 0; i < v.content.size(); i += 4) {
            const std::uint32_t cp = (static_cast<std::uint32_t>(p[i]) << 24) | (static_cast<std::uint32_t>(p[i + 1]) << 16) |
                                     (static_cast<std::uint32_t>(p[i + 2]) << 8) | p[i + 3];
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        }
        return true;
    }
    default:
        return valid_utf8(v.content);
    }
}

// Whether the Python `cryptography` library (48) can decode this name: it
// refuses an empty RDN, a multi-valued RDN whose attributes are not in
// strictly ascending DER order (so also a repeated attribute), long-form
// tags, a PrintableString with characters outside its alphabet, and string
// values that are not valid in their encoding (UTF-8 for all but
// BMPString, UniversalString and BIT STRING).
bool cryptography_can_decode(const X509_NAME* name) {
    const unsigned char* der = nullptr;
    std::size_t der_len = 0;
    if (X509_NAME_get0_der(name, &der, &der_len) != 1 || der == nullptr) {
        ERR_clear_error();
        return false;
    }
    std::string_view in(reinterpret_cast<const char*>(der), der_len);
    Tlv seq;
    if (!read_tlv(in, seq) || seq.tag != 0x30) return false;
    std::string_view rdns = seq.content;
    while (!rdns.empty()) {
        Tlv set;
        if (!read_tlv(rdns, set) || set.tag != 0x31 || set.content.empty()) return false;
        std::string_view atvs = set.content;
        std::string_view previous;
        while (!atvs.empty()) {
            Tlv atv;
            if (!read_tlv(atvs, atv) || atv.tag != 0x30) return false;
            if (!previous.empty() && !(previous < atv.whole)) return false;
            previous = atv.whole;
            std::string_view parts = atv.content;
            Tlv oid;
            Tlv value;
            if (!read_tlv(parts, oid) || oid.tag != 0x06 || !read_tlv(parts, value) || !parts.empty()) return false;
            if (!value_decodable(value)) return false;
        }
    }
    return true;
}

// Python's str() of an IPv4Network / IPv6Network built from an address and
// a netmask (8 or 32 bytes, as in name constraints); nullopt where Python
// raises ValueError (mask not contiguous, host bits set).
std::optional<std::string> python_network_text(const unsigned char* data, std::size_t len) {
    const std::size_t half = len / 2;
    int prefix = 0;
    bool ended = false;
    for (std::size_t i = 0; i < half; ++i) {
        for (int bit = 7; bit >= 0; --bit) {
            const bool one = (data[half + i] >> bit) & 1;
            if (one && ended) return std::nullopt;
            if (one) {
                ++prefix;
            } else {
                ended = true;
            }
        }
    }
    for (std::size_t i = 0; i < half; ++i) {
        if ((data[i] & ~data[half + i]) != 0) return std::nullopt;
    }
    return python_ip_text(data, half) + "/" + std::to_string(prefix);
}

// Thrown by san_text where cryptography raises ValueError for one name: the
// plugin then keeps no SANs at all.
struct SanUnreadable {};

std::string dotted(const ASN1_OBJECT* obj) {
    if (obj == nullptr) return {};
    char buf[256];
    const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
    if (n <= 0) return {};
    if (static_cast<std::size_t>(n) < sizeof buf) return std::string(buf, static_cast<std::size_t>(n));
    std::string big(static_cast<std::size_t>(n) + 1, '\0');
    OBJ_obj2txt(big.data(), n + 1, obj, 1);
    big.resize(static_cast<std::size_t>(n));
    return big;
}

const char* lookup(const OidName* table, std::size_t n, const std::string& oid) {
    for (std::size_t i = 0; i < n; ++i) {
        if (oid == table[i].oid) return table[i].name;
    }
    return nullptr;
}

// "\XX" for every non-ASCII byte (databases that cannot hold UTF-8).
std::string ascii_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            out += '\\';
            out += colon_hex(&c, 1);
        }
    }
    return out;
}

std::string raw_bytes(const ASN1_STRING* s) {
    if (s == nullptr) return {};
    const int len = ASN1_STRING_length(s);
    if (len <= 0) return {};
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(len));
}

// A name attribute's value as cryptography gives it (a Python str, or bytes
// for a BIT STRING), then as f"{value}" prints it. Bytes that are not valid
// UTF-8 (where the plugin fails to import) and control characters become
// "\XX" escapes, as in all of our text columns.
struct NameValue {
    bool is_bytes = false;
    std::string text;   // UTF-8 text, or the raw bytes when is_bytes
};

NameValue name_value(const ASN1_STRING* s) {
    NameValue v;
    if (s == nullptr) return v;
    const int type = ASN1_STRING_type(s);
    if (type == V_ASN1_BIT_STRING) {
        v.is_bytes = true;
        v.text = raw_bytes(s);
        return v;
    }
    if (type == V_ASN1_BMPSTRING || type == V_ASN1_UNIVERSALSTRING) {
        unsigned char* utf8 = nullptr;
        const int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n >= 0 && utf8 != nullptr) {
            std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
            OPENSSL_free(utf8);
            v.text = plugin_text(out);
            return v;
        }
        ERR_clear_error();
    }
    v.text = plugin_text(raw_bytes(s));
    return v;
}

std::string value_str(const NameValue& v) { return v.is_bytes ? python_bytes_repr(v.text) : v.text; }

std::string hexlify(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// cryptography's _escape_dn_value.
std::string rfc4514_value(const NameValue& v) {
    if (v.text.empty()) return {};
    if (v.is_bytes) return "#" + hexlify(v.text);
    std::string out;
    for (char c : v.text) {
        switch (c) {
        case '\\': case '"': case '+': case ',': case ';': case '<': case '>':
            out += '\\';
            out += c;
            break;
        case '\0':
            out += "\\00";
            break;
        default:
            out += c;
        }
    }
    if (out[0] == '#' || (out[0] == ' ' && out.size() > 1)) out.insert(0, 1, '\\');
    if (out.back() == ' ') out.insert(out.size() - 1, 1, '\\');
    return out;
}

// The plugin's issuer: "name=value" over every attribute, in encoded order,
// joined by ", ".
std::string plugin_name(const X509_NAME* name) {
    std::string out;
    const int n = X509_NAME_entry_count(name);
    for (int i = 0; i < n; ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
        if (i > 0) out += ", ";
        out += cryptography_oid_name(dotted(X509_NAME_ENTRY_get_object(e)));
        out += '=';
        out += value_str(name_value(X509_NAME_ENTRY_get_data(e)));
    }
    return out;
}

// Python str(Name): RFC 4514, last RDN first, multi-valued RDNs joined by '+'.
std::string rfc4514_name(const X509_NAME* name) {
    std::vector<std::string> rdns;
    int current_set = -1;
    const int n = X509_NAME_entry_count(name);
    for (int i = 0; i < n; ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
        const std::string oid = dotted(X509_NAME_ENTRY_get_object(e));
        const char* short_name = lookup(kRfc4514Names, std::size(kRfc4514Names), oid);
        std::string attr = (short_name != nullptr ? std::string(short_name) : oid) + "=" +
                           rfc4514_value(name_value(X509_NAME_ENTRY_get_data(e)));
        const int set = X509_NAME_ENTRY_set(e);
        if (rdns.empty() || set != current_set) {
            rdns.push_back(attr);
        } else {
            rdns.back() += "+" + attr;
        }
        current_set = set;
    }
    std::string out;
    for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
        if (!out.empty()) out += ',';
        out += *it;
    }
    return out;
}

std::string common_name(const X509_NAME* subject) {
    // The plugin falls back to "Unknown" when the subject cannot be decoded.
    if (!cryptography_can_decode(subject)) return "Unknown";
    const int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i < 0) return "Unknown";
    return value_str(name_value(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
}

std::string der_of(const ASN1_TYPE* t) {
    unsigned char* der = nullptr;
    const int n = i2d_ASN1_TYPE(t, &der);
    if (n <= 0 || der == nullptr) {
        ERR_clear_error();
        return {};
    }
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
}

// One SAN entry as the plugin writes it.
std::string san_text(const GENERAL_NAME* gn) {
    int type = 0;
    void* value = GENERAL_NAME_get0_value(gn, &type);
    switch (type) {
    case GEN_DNS:
    case GEN_EMAIL:
    case GEN_URI: {
        // IA5String: cryptography refuses any byte above 0x7F.
        const std::string v = raw_bytes(static_cast<ASN1_STRING*>(value));
        if (!is_ascii(v)) throw SanUnreadable{};
        return std::string(type == GEN_DNS ? "DNS:" : type == GEN_EMAIL ? "Email:" : "URI:") + plugin_text(v);
    }
    case GEN_IPADD: {
        const std::string ip = raw_bytes(static_cast<ASN1_STRING*>(value));
        const auto* bytes = reinterpret_cast<const unsigned char*>(ip.data());
        if (ip.size() == 4 || ip.size() == 16) return "IP:" + python_ip_text(bytes, ip.size());
        if (ip.size() == 8 || ip.size() == 32) {
            std::optional<std::string> net = python_network_text(bytes, ip.size());
            if (net) return "IP:" + *net;
        }
        throw SanUnreadable{};
    }
    case GEN_DIRNAME: {
        // str(Name) is its repr: "<Name(RFC 4514 form)>".
        const auto* dn = static_cast<X509_NAME*>(value);
        if (!cryptography_can_decode(dn)) throw SanUnreadable{};
        return "<Name(" + rfc4514_name(dn) + ")>";
    }
    case GEN_RID: {
        const std::string oid = dotted(static_cast<ASN1_OBJECT*>(value));
        return "<ObjectIdentifier(oid=" + oid + ", name=" + cryptography_oid_name(oid) + ")>";
    }
    case GEN_OTHERNAME: {
        ASN1_OBJECT* oid = nullptr;
        ASN1_TYPE* other = nullptr;
        GENERAL_NAME_get0_otherName(gn, &oid, &other);
        return python_bytes_repr(other != nullptr ? der_of(other) : std::string());
    }
    case GEN_X400:
        return "X400Address:<unsupported>";
    case GEN_EDIPARTY:
        return "EDIPartyName:<unsupported>";
    default:
        return "unknown:<unsupported>";
    }
}

std::vector<std::string> plugin_sans(const STACK_OF(X509_EXTENSION)* exts) {
    std::vector<std::string> sans;
    // No SAN extension, one that cannot be decoded, or two of them: the
    // plugin stores [] in all three cases.
    const int at = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    if (at < 0 || X509v3_get_ext_by_NID(exts, NID_subject_alt_name, at) >= 0) return sans;
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(X509v3_get_ext(exts, at))));
    ERR_clear_error();
    if (!names) return sans;
    try {
        for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) sans.push_back(san_text(sk_GENERAL_NAME_value(names.get(), i)));
    } catch (const SanUnreadable&) {
        sans.clear();
    }
    return sans;
}

// The field size of a named curve, which is what cryptography reports as
// key_size (EVP_PKEY_get_bits gives the group order's size instead).
// Building an EC_GROUP costs more than the rest of the call, so the degree
// is cached per curve (a few ints for the life of the process).
std::optional<int> curve_degree(const ASN1_OBJECT* curve) {
    static std::mutex mutex;
    static std::map<int, int> cache;  // nid -> degree, 0 for "not a known curve"
    const int nid = OBJ_obj2nid(curve);
    if (nid == NID_undef) return std::nullopt;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = cache.find(nid);
        if (it != cache.end()) return it->second > 0 ? std::optional<int>(it->second) : std::nullopt;
    }
    EcGroupPtr group(EC_GROUP_new_by_curve_name(nid));
    ERR_clear_error();
    const int degree = group ? EC_GROUP_get_degree(group.get()) : 0;
    std::lock_guard<std::mutex> lock(mutex);
    cache.emplace(nid, degree);
    return degree > 0 ? std::optional<int>(degree) : std::nullopt;
}

// The named curve OID in a SubjectPublicKeyInfo's DER, or null (explicit
// parameters, or anything unexpected).
Owned<ASN1_OBJECT, ASN1_OBJECT_free> spki_curve(std::string_view spki) {
    Tlv outer;
    Tlv alg;
    Tlv oid;
    Tlv param;
    if (!read_tlv(spki, outer) || outer.tag != 0x30) return nullptr;
    std::string_view body = outer.content;
    if (!read_tlv(body, alg) || alg.tag != 0x30) return nullptr;
    std::string_view parts = alg.content;
    if (!read_tlv(parts, oid) || !read_tlv(parts, param) || param.tag != 0x06) return nullptr;
    const auto* p = reinterpret_cast<const unsigned char*>(param.whole.data());
    Owned<ASN1_OBJECT, ASN1_OBJECT_free> obj(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(param.whole.size())));
    ERR_clear_error();
    return obj;
}

// The plugin's (key_size, algorithm): RSA (also RSA-PSS, which cryptography
// loads as an RSA key) -> modulus bits; EC -> curve bits; Ed25519 -> no
// size; anything else -> "unknown" without size. `rsa_bits` is what
// EVP_PKEY_get_bits says for the key; `spki` its SubjectPublicKeyInfo DER.
void key_info(const ASN1_OBJECT* key_algorithm, const std::function<std::optional<int>()>& rsa_bits,
              std::string_view spki, NetboxFields& out) {
    out.algorithm = "unknown";
    const int nid = OBJ_obj2nid(key_algorithm);
    if (nid == NID_rsaEncryption || nid == NID_rsassaPss) {
        out.algorithm = "rsa";
        out.key_size = rsa_bits();
    } else if (nid == NID_X9_62_id_ecPublicKey) {
        out.algorithm = "ecdsa";
        auto curve = spki_curve(spki);
        if (curve) out.key_size = curve_degree(curve.get());
    } else if (nid == NID_ED25519) {
        out.algorithm = "ed25519";
    }
    ERR_clear_error();
}

std::int64_t time_seconds(const ASN1_TIME* t, const char* which) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) malformed(std::string("certificate's ") + which + " date cannot be read");
    return epoch_seconds(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// A block list as the plugin joins it: each block without its final newline,
// joined by "\n" (our canonical blocks each end in exactly one "\n").
std::string strip_final_newline(std::string_view pem) {
    if (!pem.empty() && pem.back() == '\n') pem.remove_suffix(1);
    return std::string(pem);
}

}  // namespace

std::string netbox_serial(const unsigned char* magnitude, std::size_t len, bool negative) {
    static const char* digits = "0123456789ABCDEF";
    std::string hex;
    for (std::size_t i = 0; i < len; ++i) {
        hex += digits[magnitude[i] >> 4];
        hex += digits[magnitude[i] & 15];
    }
    const std::size_t first = hex.find_first_not_of('0');
    hex = first == std::string::npos ? "0" : hex.substr(first);
    if (negative && hex != "0") hex.insert(0, 1, '-');
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i > 0) out += ':';
        out += hex.substr(i, 2);
    }
    return out;
}

std::string python_ip_text(const unsigned char* data, std::size_t len) {
    if (len == 4) {
        return std::to_string(data[0]) + "." + std::to_string(data[1]) + "." + std::to_string(data[2]) + "." +
               std::to_string(data[3]);
    }
    if (len != 16) return "invalid(" + colon_hex(data, len) + ")";
    unsigned groups[8];
    for (std::size_t i = 0; i < 8; ++i) groups[i] = (static_cast<unsigned>(data[2 * i]) << 8) | data[2 * i + 1];
    int best_start = -1;
    int best_len = 0;
    for (int i = 0; i < 8;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[j] == 0) ++j;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) best_start = -1;
    char buf[8];
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buf, sizeof buf, "%x", groups[i]);
        out += buf;
    }
    return out;
}

std::string cryptography_oid_name(const std::string& oid) {
    const char* name = lookup(kOidNames, std::size(kOidNames), oid);
    return name != nullptr ? name : "Unknown OID";
}

std::string python_bytes_repr(std::string_view bytes) {
    const bool has_single = bytes.find('\'') != std::string_view::npos;
    const bool has_double = bytes.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out = "b";
    out += quote;
    char buf[8];
    for (unsigned char c : bytes) {
        if (c == static_cast<unsigned char>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c >= 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += quote;
    return out;
}

NetboxFields netbox_fields(std::string_view leaf_pem, std::string_view issuer_chain, bool ascii_only) {
    QueueGuard guard;
    std::vector<PemBlock> blocks = split_pem(leaf_pem);
    if (blocks.size() != 1 || blocks[0].kind != PemKind::Certificate) {
        malformed("expected exactly one PEM certificate block as the leaf");
    }
    const std::string& der = blocks[0].der;
    const auto* der_bytes = reinterpret_cast<const unsigned char*>(der.data());

    // The fast decoder (no public key decoding) where it promises the same
    // result as d2i_X509; d2i_X509 otherwise.
    detail::LightCertPtr light = detail::decode_light(der_bytes, der.size());
    X509Ptr full;
    detail::CertFields f;
    std::string spki;
    std::function<std::optional<int>()> rsa_bits;
    if (light) {
        f = detail::fields_of(*light);
        spki = std::string(detail::spki_der(*light));
        rsa_bits = [&light] { return detail::key_bits(*light); };
    } else {
        const unsigned char* p = der_bytes;
        full.reset(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
        if (!full) malformed("the leaf certificate cannot be decoded");
        f.subject = X509_get_subject_name(full.get());
        f.issuer = X509_get_issuer_name(full.get());
        f.serial = X509_get0_serialNumber(full.get());
        f.not_before = X509_get0_notBefore(full.get());
        f.not_after = X509_get0_notAfter(full.get());
        f.extensions = X509_get0_extensions(full.get());
        X509_PUBKEY* pub = X509_get_X509_PUBKEY(full.get());
        ASN1_OBJECT* alg = nullptr;
        if (pub != nullptr && X509_PUBKEY_get0_param(&alg, nullptr, nullptr, nullptr, pub) == 1) f.key_algorithm = alg;
        unsigned char* spki_buf = nullptr;
        const int spki_len = pub != nullptr ? i2d_X509_PUBKEY(pub, &spki_buf) : -1;
        if (spki_len > 0 && spki_buf != nullptr) spki.assign(reinterpret_cast<const char*>(spki_buf), static_cast<std::size_t>(spki_len));
        OPENSSL_free(spki_buf);
        ERR_clear_error();
        rsa_bits = [&full]() -> std::optional<int> {
            EVP_PKEY* pkey = X509_get0_pubkey(full.get());
            const int bits = pkey != nullptr ? EVP_PKEY_get_bits(pkey) : 0;
            ERR_clear_error();
            if (bits > 0) return bits;
            return std::nullopt;
        };
    }

    NetboxFields out;
    out.common_name = common_name(f.subject);
    out.serial_number = netbox_serial(ASN1_STRING_get0_data(f.serial), static_cast<std::size_t>(std::max(0, ASN1_STRING_length(f.serial))),
                                      ASN1_STRING_type(f.serial) == V_ASN1_NEG_INTEGER);
    // The fingerprint of the block's exact DER, as ssl_parse computes it
    // (our pem_content is always a plain CERTIFICATE block).
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der_bytes, der.size(), digest);
    out.pem_content = strip_final_newline(pem_encode(der, "CERTIFICATE"));
    out.fingerprint_sha256 = colon_hex(digest, sizeof digest);
    out.issuer = plugin_name(f.issuer);
    out.valid_from = time_seconds(f.not_before, "notBefore");
    out.valid_to = time_seconds(f.not_after, "notAfter");
    out.sans = plugin_sans(f.extensions);
    key_info(f.key_algorithm, rsa_bits, spki, out);
    out.issuer_chain = strip_final_newline(issuer_chain);
    if (ascii_only) {
        out.common_name = ascii_escape(out.common_name);
        out.issuer = ascii_escape(out.issuer);
        for (std::string& san : out.sans) san = ascii_escape(san);
    }
    return out;
}

NetboxFields netbox_fields(const CertificateInfo& info, bool ascii_only) {
    return netbox_fields(info.pem_content, info.issuer_chain, ascii_only);
}

}  // namespace netbox_ssl

// Text and name rules of the NetBox SSL plugin's formats (netbox_text.hpp);
// the rules are documented in docs/netbox-formats.md.
#include "core/netbox_text.hpp"

#include "core/certificate.hpp"
#include "core/encoding.hpp"
#include "core/netbox_format.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace netbox_ssl {
namespace netbox_text {

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

std::string cryptography_oid_name_impl(const std::string& oid) {
    const char* name = lookup(kOidNames, std::size(kOidNames), oid);
    return name != nullptr ? name : "Unknown OID";
}

}  // namespace netbox_text

std::string cryptography_oid_name(const std::string& oid) { return netbox_text::cryptography_oid_name_impl(oid); }

}  // namespace netbox_ssl

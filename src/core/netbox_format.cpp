// The NetBox SSL plugin's field formats; see netbox_format.hpp and
// docs/netbox-formats.md. Every rule here reproduces what the plugin's
// parser (Python, with the `cryptography` library) stores, re-derived from
// the behaviour described in shared/reference/netbox-plugin-behaviour.md.
#include "core/netbox_format.hpp"

#include "core/certificate.hpp"
#include "core/encoding.hpp"
#include "core/fast_x509.hpp"
#include "core/netbox_text.hpp"
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

// Text and name rules (netbox_text.hpp).
using namespace netbox_text;  // NOLINT(google-build-using-namespace)

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

// Text of certificate fields (x509_text.hpp).
#include "core/x509_text.hpp"

#include "core/encoding.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <string_view>

namespace netbox_ssl::detail {
namespace {

const EVP_MD* sha256() {
    // Fetched once per process and deliberately never freed: explicit fetches
    // avoid OpenSSL 3's per-call implicit lookup.
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md != nullptr ? md : EVP_sha256();
}

// A sink BIO that appends what is written to the std::string set as its
// data. X509_NAME_print_ex writes a name in many small pieces; a memory BIO
// pays for a buffer resize check on each, and BIO_new/BIO_free (a lock and
// ex_data each) per name. One such BIO per thread is reused instead.
int string_bio_write(BIO* bio, const char* data, int len) {
    auto* out = static_cast<std::string*>(BIO_get_data(bio));
    if (out == nullptr || len < 0) return -1;
    try {
        out->append(data, static_cast<std::size_t>(len));
    } catch (...) {  // no exception may cross OpenSSL's C frames
        return -1;
    }
    return len;
}

int string_bio_puts(BIO* bio, const char* text) {
    return string_bio_write(bio, text, static_cast<int>(std::strlen(text)));
}

long string_bio_ctrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int string_bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

const BIO_METHOD* string_bio_method() {
    // Built once per process and never freed, like the SHA-256 method.
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "netbox_ssl string sink");
        if (m != nullptr && (BIO_meth_set_write(m, string_bio_write) != 1 || BIO_meth_set_puts(m, string_bio_puts) != 1 ||
                             BIO_meth_set_ctrl(m, string_bio_ctrl) != 1 || BIO_meth_set_create(m, string_bio_create) != 1)) {
            BIO_meth_free(m);
            m = nullptr;
        }
        return m;
    }();
    return method;
}

// The printed form of a name depends only on its DER encoding, and a bulk
// import meets the same few issuer names again and again: the last few
// names printed are kept per thread, keyed by their exact encoding.
struct NameTextCache {
    static constexpr std::size_t kSlots = 8;
    static constexpr std::size_t kMaxDer = 1024;  // larger names are not kept
    struct Slot {
        std::string der;
        std::string text;
    };
    std::array<Slot, kSlots> slots;
    std::size_t next = 0;

    const std::string* find(std::string_view der) const {
        const auto hit = std::find_if(slots.begin(), slots.end(),
                                      [der](const Slot& s) { return !s.der.empty() && s.der == der; });
        return hit != slots.end() ? &hit->text : nullptr;
    }
    void put(std::string_view der, const std::string& text) {
        Slot& s = slots[next];
        next = (next + 1) % kSlots;
        s.der.assign(der);
        s.text = text;
    }
};


}  // namespace

void free_openssl_bytes(unsigned char* p) { OPENSSL_free(p); }

// The first queued reason is the one that explains the failure; the rest are
// the decoder unwinding. Only the fixed reason string is kept, never data.
std::string take_openssl_reason() {
    unsigned long code = ERR_get_error();
    std::string reason;
    if (code != 0) {
        const char* text = ERR_reason_error_string(code);
        if (text != nullptr) reason = std::string("OpenSSL reports: ") + text + ".";
    }
    ERR_clear_error();
    return reason;
}

[[noreturn]] void malformed(const std::string& message, std::string detail) {
    throw Error(ErrorKind::Malformed, message, std::move(detail));
}

std::string sha256_hex(const unsigned char* data, std::size_t len) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(data, len, digest, &digest_len, sha256(), nullptr) != 1) {
        throw Error(ErrorKind::Internal, "SHA-256 computation failed", take_openssl_reason());
    }
    return colon_hex(digest, digest_len);
}

std::string print_name(const X509_NAME* name) {
    thread_local BioPtr sink;
    if (!sink) {
        const BIO_METHOD* method = string_bio_method();
        if (method != nullptr) sink.reset(BIO_new(method));
        if (!sink) throw Error(ErrorKind::Internal, "cannot create an OpenSSL BIO", take_openssl_reason());
    }
    std::string text;
    BIO_set_data(sink.get(), &text);
    const int rc = X509_NAME_print_ex(sink.get(), name, 0, XN_FLAG_RFC2253);
    BIO_set_data(sink.get(), nullptr);
    if (rc < 0) {
        malformed("certificate has a distinguished name that cannot be printed", take_openssl_reason());
    }
    // XN_FLAG_RFC2253 escapes every non-ASCII and control byte, so this only
    // guards against surprises; backslashes are already RFC 4514 escapes.
    return sanitize_text(text, false);
}

std::string name_rfc2253(const X509_NAME* name) {
    thread_local NameTextCache cache;
    const unsigned char* der = nullptr;
    std::size_t der_len = 0;
    if (X509_NAME_get0_der(name, &der, &der_len) != 1 || der == nullptr || der_len == 0 ||
        der_len > NameTextCache::kMaxDer) {
        ERR_clear_error();
        return print_name(name);
    }
    const std::string_view key(reinterpret_cast<const char*>(der), der_len);
    if (const std::string* hit = cache.find(key)) return *hit;
    std::string text = print_name(name);
    cache.put(key, text);
    return text;
}

std::string asn1_string_text(const ASN1_STRING* value) {
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len < 0) {
        ERR_clear_error();
        return sanitize_text(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                              static_cast<std::size_t>(ASN1_STRING_length(value))),
                             true);
    }
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owner(utf8, free_openssl_bytes);
    return sanitize_text(std::string_view(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len)), true);
}

std::string ia5_text(const ASN1_STRING* value) {
    return sanitize_text(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                          static_cast<std::size_t>(ASN1_STRING_length(value))),
                         true);
}

std::string oid_text(const ASN1_OBJECT* obj, bool numeric) {
    char buf[128];
    int len = OBJ_obj2txt(buf, sizeof buf, obj, numeric ? 1 : 0);
    if (len <= 0) return "unknown";
    if (static_cast<std::size_t>(len) < sizeof buf) return std::string(buf, static_cast<std::size_t>(len));
    std::string big(static_cast<std::size_t>(len) + 1, '\0');
    OBJ_obj2txt(big.data(), len + 1, obj, numeric ? 1 : 0);
    big.resize(static_cast<std::size_t>(len));
    return big;
}

std::int64_t asn1_time_seconds(const ASN1_TIME* t, const std::string& invalid_message) {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) malformed(invalid_message, take_openssl_reason());
    return epoch_seconds(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::int64_t asn1_time_to_epoch(const ASN1_TIME* t, const char* which) {
    return asn1_time_seconds(t, std::string("certificate has an invalid ") + which + " date");
}

std::string serial_text(const ASN1_INTEGER* serial) {
    const unsigned char* data = ASN1_STRING_get0_data(serial);
    int len = ASN1_STRING_length(serial);
    if (len <= 0) return "00";
    std::string hex = colon_hex(data, static_cast<std::size_t>(len));
    return ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER ? "-" + hex : hex;
}

std::string general_name_text(const GENERAL_NAME* gn) {
    int type = 0;
    void* value = GENERAL_NAME_get0_value(gn, &type);
    switch (type) {
    case GEN_DNS:
        return "DNS:" + ia5_text(static_cast<ASN1_IA5STRING*>(value));
    case GEN_EMAIL:
        return "Email:" + ia5_text(static_cast<ASN1_IA5STRING*>(value));
    case GEN_URI:
        return "URI:" + ia5_text(static_cast<ASN1_IA5STRING*>(value));
    case GEN_IPADD: {
        auto* ip = static_cast<ASN1_OCTET_STRING*>(value);
        return "IP:" + ip_text(ASN1_STRING_get0_data(ip), static_cast<std::size_t>(ASN1_STRING_length(ip)));
    }
    case GEN_DIRNAME:
        return "DirName:" + name_rfc2253(static_cast<X509_NAME*>(value));
    case GEN_RID:
        return "RID:" + oid_text(static_cast<ASN1_OBJECT*>(value), true);
    case GEN_OTHERNAME: {
        ASN1_OBJECT* oid = nullptr;
        ASN1_TYPE* other = nullptr;
        GENERAL_NAME_get0_otherName(gn, &oid, &other);
        std::string out = "otherName:" + oid_text(oid, true);
        if (other != nullptr) {
            switch (other->type) {
            case V_ASN1_UTF8STRING:
            case V_ASN1_IA5STRING:
            case V_ASN1_PRINTABLESTRING:
            case V_ASN1_BMPSTRING:
            case V_ASN1_UNIVERSALSTRING:
            case V_ASN1_VISIBLESTRING:
                out += ";" + asn1_string_text(other->value.asn1_string);
                break;
            default:
                break;
            }
        }
        return out;
    }
    case GEN_X400:
        return "X400Name:<unsupported>";
    case GEN_EDIPARTY:
        return "EdiPartyName:<unsupported>";
    default:
        return "unknown:<unsupported>";
    }
}

std::string public_key_algorithm(int nid) {
    switch (nid) {
    case NID_rsaEncryption:
    case NID_rsassaPss:
        return "rsa";
    case NID_X9_62_id_ecPublicKey:
        return "ecdsa";
    case NID_ED25519:
        return "ed25519";
    case NID_ED448:
        return "ed448";
    case NID_dsa:
    case NID_dsa_2:
        return "dsa";
    default:
        return "unknown";
    }
}

std::string escape_non_ascii(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            unsigned char byte = c;
            out += '\\';
            out += colon_hex(&byte, 1);
        }
    }
    return out;
}

}  // namespace netbox_ssl::detail

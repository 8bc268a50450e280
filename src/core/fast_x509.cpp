// The fast certificate decoder; see fast_x509.hpp for why it exists.
//
// The item templates below follow the structure of RFC 5280's Certificate and
// TBSCertificate field by field with OpenSSL's own item types (X509_NAME,
// X509_ALGOR, X509_VAL, X509_EXTENSION, ASN1_INTEGER, ASN1_BIT_STRING), so
// every field is accepted or rejected, and decoded, exactly as d2i_X509 does
// it. The one difference is the SubjectPublicKeyInfo: it is read as the same
// SEQUENCE { AlgorithmIdentifier, BIT STRING } that X509_PUBKEY reads, but the
// key inside is not handed to the provider decoders. d2i_X509 ignores a key
// those decoders cannot read, so this changes no acceptance decision (the one
// exception, a decoder that succeeds without consuming the whole SPKI, needs
// an SPKI that is not in DER form, and those are declined); the key's size is
// then derived the way those decoders derive it.
#include "core/fast_x509.hpp"

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/encoding.hpp"

namespace netbox_ssl::detail {
namespace {

// SubjectPublicKeyInfo, with the received encoding kept (enc) so that its
// bytes can be hashed and compared with their re-encoding.
struct LightSpki {
    X509_ALGOR* algor;
    ASN1_BIT_STRING* public_key;
    ASN1_ENCODING enc;
};

// Item definitions as OpenSSL's ASN1_SEQUENCE / ASN1_SEQUENCE_END macros
// lay them out (asn1t.h); written out because static analysis cannot parse
// the END macros. Fields use the public template macros.
template <std::size_t N>
constexpr ASN1_ITEM sequence_item(const ASN1_TEMPLATE (&fields)[N], const ASN1_AUX* aux, std::size_t size,
                                  const char* name) {
    return ASN1_ITEM{ASN1_ITYPE_SEQUENCE, V_ASN1_SEQUENCE, fields, static_cast<long>(N), aux,
                     static_cast<long>(size), name};
}

// Decoding saves the received bytes in LightSpki::enc.
const ASN1_AUX kLightSpkiAux = {nullptr, ASN1_AFLG_ENCODING, 0, 0, nullptr, offsetof(LightSpki, enc), nullptr};
const ASN1_TEMPLATE kLightSpkiFields[] = {
    ASN1_SIMPLE(LightSpki, algor, X509_ALGOR),
    ASN1_SIMPLE(LightSpki, public_key, ASN1_BIT_STRING),
};
const ASN1_ITEM* LightSpki_it() {
    static const ASN1_ITEM item = sequence_item(kLightSpkiFields, &kLightSpkiAux, sizeof(LightSpki), "LightSpki");
    return &item;
}

// The same fields without the saved encoding: encoding with this item gives
// exactly what i2d_X509_PUBKEY writes (X509_PUBKEY encodes the same two
// fields with the same item types).
const ASN1_ITEM* LightSpkiReencode_it() {
    static const ASN1_ITEM item = sequence_item(kLightSpkiFields, nullptr, sizeof(LightSpki), "LightSpki");
    return &item;
}

struct LightTbs {
    ASN1_INTEGER* version;
    ASN1_INTEGER* serial;
    X509_ALGOR* signature;
    X509_NAME* issuer;
    X509_VAL* validity;
    X509_NAME* subject;
    LightSpki* key;
    ASN1_BIT_STRING* issuer_uid;
    ASN1_BIT_STRING* subject_uid;
    STACK_OF(X509_EXTENSION)* extensions;
};

// TBSCertificate, field for field as OpenSSL's X509_CINF item.
const ASN1_TEMPLATE kLightTbsFields[] = {
    ASN1_EXP_OPT(LightTbs, version, ASN1_INTEGER, 0),
    ASN1_SIMPLE(LightTbs, serial, ASN1_INTEGER),
    ASN1_SIMPLE(LightTbs, signature, X509_ALGOR),
    ASN1_SIMPLE(LightTbs, issuer, X509_NAME),
    ASN1_SIMPLE(LightTbs, validity, X509_VAL),
    ASN1_SIMPLE(LightTbs, subject, X509_NAME),
    ASN1_SIMPLE(LightTbs, key, LightSpki),
    ASN1_IMP_OPT(LightTbs, issuer_uid, ASN1_BIT_STRING, 1),
    ASN1_IMP_OPT(LightTbs, subject_uid, ASN1_BIT_STRING, 2),
    ASN1_EXP_SEQUENCE_OF_OPT(LightTbs, extensions, X509_EXTENSION, 3),
};
const ASN1_ITEM* LightTbs_it() {
    static const ASN1_ITEM item = sequence_item(kLightTbsFields, nullptr, sizeof(LightTbs), "LightTbs");
    return &item;
}

// RSAPublicKey as OpenSSL's RSA item reads it: two BIGNUM items, which (unlike
// ASN1_INTEGER) take any INTEGER content as an unsigned magnitude.
struct LightRsaKey {
    BIGNUM* n;
    BIGNUM* e;
};

const ASN1_TEMPLATE kLightRsaKeyFields[] = {
    ASN1_SIMPLE(LightRsaKey, n, BIGNUM),
    ASN1_SIMPLE(LightRsaKey, e, BIGNUM),
};
const ASN1_ITEM* LightRsaKey_it() {
    static const ASN1_ITEM item = sequence_item(kLightRsaKeyFields, nullptr, sizeof(LightRsaKey), "LightRsaKey");
    return &item;
}

template <typename T>
void free_item(T* value, const ASN1_ITEM* it) {
    ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(value), it);
}

struct RsaKeyFree {
    void operator()(LightRsaKey* key) const noexcept { free_item(key, LightRsaKey_it()); }
};
struct EcPointFree {
    void operator()(EC_POINT* point) const noexcept { EC_POINT_free(point); }
};
struct OpenSslBytesFree {
    void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};

// Groups are built once per process and never freed (like the SHA-256
// method in certificate.cpp); EC_POINT_oct2point only reads them.
template <int Nid>
const EC_GROUP* curve() {
    static const EC_GROUP* const group = EC_GROUP_new_by_curve_name(Nid);
    return group;
}

// Named curves whose keys the fast path sizes itself; others fall back.
const EC_GROUP* named_curve_group(int nid) {
    switch (nid) {
    case NID_X9_62_prime256v1: return curve<NID_X9_62_prime256v1>();
    case NID_secp384r1: return curve<NID_secp384r1>();
    case NID_secp521r1: return curve<NID_secp521r1>();
    case NID_secp224r1: return curve<NID_secp224r1>();
    case NID_secp256k1: return curve<NID_secp256k1>();
    case NID_brainpoolP256r1: return curve<NID_brainpoolP256r1>();
    case NID_brainpoolP384r1: return curve<NID_brainpoolP384r1>();
    case NID_brainpoolP512r1: return curve<NID_brainpoolP512r1>();
    default: return nullptr;
    }
}

int key_nid(const LightSpki& spki) {
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, spki.algor);
    return OBJ_obj2nid(oid);
}

// The curve of an id-ecPublicKey key given by a namedCurve OID in the
// parameters (as OpenSSL's EC key decoder reads them), or null otherwise.
const EC_GROUP* ec_named_group(const LightSpki& spki) {
    int ptype = V_ASN1_UNDEF;
    const void* pval = nullptr;
    X509_ALGOR_get0(nullptr, &ptype, &pval, spki.algor);
    if (ptype != V_ASN1_OBJECT || pval == nullptr) return nullptr;
    return named_curve_group(OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval)));
}

// Key types whose columns the fast path derives exactly as d2i_X509 + the
// full parse would. RSA-PSS (parameter rules), DSA, explicit or unlisted
// curves and unknown algorithms are left to the full path.
bool key_type_supported(const LightSpki& spki) {
    switch (key_nid(spki)) {
    case NID_rsaEncryption:
    case NID_ED25519:
    case NID_ED448:
        return true;
    case NID_X9_62_id_ecPublicKey:
        return ec_named_group(spki) != nullptr;
    default:
        return false;
    }
}

// Whether the received SubjectPublicKeyInfo bytes are exactly its DER
// re-encoding (what the full path hashes, and what the key decoders see).
bool spki_is_canonical(const LightSpki& spki) {
    if (spki.enc.enc == nullptr || spki.enc.len <= 0) return false;
    unsigned char* out = nullptr;
    const int len = ASN1_item_i2d(reinterpret_cast<const ASN1_VALUE*>(&spki), &out, LightSpkiReencode_it());
    std::unique_ptr<unsigned char, OpenSslBytesFree> owner(out);
    return len > 0 && len == spki.enc.len && std::memcmp(out, spki.enc.enc, static_cast<std::size_t>(len)) == 0;
}

std::optional<int> rsa_bits(const LightSpki& spki) {
    const unsigned char* p = ASN1_STRING_get0_data(spki.public_key);
    const int len = ASN1_STRING_length(spki.public_key);
    if (p == nullptr || len <= 0) return std::nullopt;
    // Like d2i_RSAPublicKey, bytes after the RSAPublicKey are not looked at.
    std::unique_ptr<LightRsaKey, RsaKeyFree> key(
        reinterpret_cast<LightRsaKey*>(ASN1_item_d2i(nullptr, &p, len, LightRsaKey_it())));
    if (!key || key->n == nullptr) return std::nullopt;
    const int bits = BN_num_bits(key->n);
    return bits > 0 ? std::optional<int>(bits) : std::nullopt;
}

std::optional<int> ec_point_bits(const EC_GROUP* group, const unsigned char* p, std::size_t len) {
    if (group == nullptr || p == nullptr || len == 0) return std::nullopt;
    // The EC key decoder keeps a key only if its point decodes onto the curve.
    std::unique_ptr<EC_POINT, EcPointFree> point(EC_POINT_new(group));
    if (!point || EC_POINT_oct2point(group, point.get(), p, len, nullptr) != 1) {
        return std::nullopt;
    }
    const int bits = EC_GROUP_order_bits(group);
    return bits > 0 ? std::optional<int>(bits) : std::nullopt;
}

std::optional<int> ec_bits(const LightSpki& spki) {
    const int len = ASN1_STRING_length(spki.public_key);
    if (len <= 0) return std::nullopt;
    return ec_point_bits(ec_named_group(spki), ASN1_STRING_get0_data(spki.public_key), static_cast<std::size_t>(len));
}

}  // namespace

struct LightCert {
    LightTbs* tbs;
    X509_ALGOR* sig_alg;
    ASN1_BIT_STRING* signature;
};

namespace {
// Certificate, as OpenSSL's X509 item (without its cached-extension fields).
const ASN1_TEMPLATE kLightCertFields[] = {
    ASN1_SIMPLE(LightCert, tbs, LightTbs),
    ASN1_SIMPLE(LightCert, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(LightCert, signature, ASN1_BIT_STRING),
};
const ASN1_ITEM* LightCert_it() {
    static const ASN1_ITEM item = sequence_item(kLightCertFields, nullptr, sizeof(LightCert), "LightCert");
    return &item;
}
}  // namespace

void LightCertFree::operator()(LightCert* cert) const noexcept { free_item(cert, LightCert_it()); }

LightCertPtr decode_light(const unsigned char* der, std::size_t len) {
    if (der == nullptr || len == 0 || len > static_cast<std::size_t>(LONG_MAX)) return nullptr;
    const unsigned char* p = der;
    LightCertPtr cert(
        reinterpret_cast<LightCert*>(ASN1_item_d2i(nullptr, &p, static_cast<long>(len), LightCert_it())));
    const bool usable = cert && p == der + len && key_type_supported(*cert->tbs->key) &&
                        spki_is_canonical(*cert->tbs->key);
    ERR_clear_error();
    if (!usable) return nullptr;
    return cert;
}

CertFields fields_of(const LightCert& cert) {
    const LightTbs& tbs = *cert.tbs;
    CertFields f;
    f.subject = tbs.subject;
    f.issuer = tbs.issuer;
    f.serial = tbs.serial;
    f.not_before = tbs.validity->notBefore;
    f.not_after = tbs.validity->notAfter;
    f.extensions = tbs.extensions;
    f.tbs_signature = tbs.signature;
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, tbs.key->algor);
    f.key_algorithm = oid;
    return f;
}

std::string_view spki_der(const LightCert& cert) {
    const ASN1_ENCODING& enc = cert.tbs->key->enc;
    return {reinterpret_cast<const char*>(enc.enc), static_cast<std::size_t>(enc.len)};
}

std::optional<int> key_bits(const LightCert& cert) {
    const LightSpki& spki = *cert.tbs->key;
    std::optional<int> bits;
    switch (key_nid(spki)) {
    case NID_rsaEncryption:
        bits = rsa_bits(spki);
        break;
    case NID_X9_62_id_ecPublicKey:
        bits = ec_bits(spki);
        break;
    default:
        break;  // Ed25519 and Ed448 have no size column
    }
    ERR_clear_error();
    return bits;
}

namespace {
bool is_ct_extension(const X509_EXTENSION* ext) {
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(const_cast<X509_EXTENSION*>(ext)));
    return nid == NID_ct_precert_poison || nid == NID_ct_precert_scts;
}

struct ExtensionListFree {  // the list only; the extensions belong to the certificate
    void operator()(STACK_OF(X509_EXTENSION)* list) const noexcept { sk_X509_EXTENSION_free(list); }
};
}  // namespace

std::optional<std::string> tbs_der_without_ct(const LightCert& cert) {
    // A shallow copy of the TBSCertificate whose extension list borrows the
    // certificate's extensions minus the CT ones. LightTbs keeps no saved
    // encoding, so it is encoded afresh; names and the SPKI encode from their
    // saved bytes, exactly as X509_CINF does on the reference path.
    LightTbs copy = *cert.tbs;
    std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionListFree> kept;
    if (copy.extensions != nullptr) {
        kept.reset(sk_X509_EXTENSION_new_null());
        if (!kept) {
            ERR_clear_error();
            return std::nullopt;
        }
        for (int i = 0; i < sk_X509_EXTENSION_num(copy.extensions); ++i) {
            X509_EXTENSION* ext = sk_X509_EXTENSION_value(copy.extensions, i);
            if (!is_ct_extension(ext) && sk_X509_EXTENSION_push(kept.get(), ext) <= 0) {
                ERR_clear_error();
                return std::nullopt;
            }
        }
        // A list emptied by the removal is omitted (RFC 5280 allows no empty
        // list), as X509_delete_ext leaves it on the reference path; a list
        // received empty is re-encoded as it came, as X509_CINF does.
        const int left = sk_X509_EXTENSION_num(kept.get());
        if (left != sk_X509_EXTENSION_num(copy.extensions)) copy.extensions = left > 0 ? kept.get() : nullptr;
    }
    unsigned char* out = nullptr;
    const int len = ASN1_item_i2d(reinterpret_cast<const ASN1_VALUE*>(&copy), &out, LightTbs_it());
    std::unique_ptr<unsigned char, OpenSslBytesFree> owner(out);
    ERR_clear_error();
    if (len <= 0 || out == nullptr) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
}

// ---------------------------------------------------------------------------
// The lean decoder (see fast_x509.hpp).

bool der_next(std::string_view in, std::size_t& pos, unsigned char& tag, std::string_view& content,
              std::string_view* whole) {
    const std::size_t start = pos;
    const std::size_t n = in.size();
    if (start + 2 > n) return false;
    const auto* b = reinterpret_cast<const unsigned char*>(in.data());
    const unsigned char t = b[start];
    if ((t & 0x1F) == 0x1F) return false;  // high tag numbers: not in a certificate
    std::size_t at = start + 1;
    std::size_t len = b[at++];
    if (len >= 0x80) {
        const std::size_t octets = len & 0x7F;
        if (octets == 0 || octets > 3 || at + octets > n || b[at] == 0) return false;  // indefinite, huge, non-minimal
        len = 0;
        for (std::size_t i = 0; i < octets; ++i) len = (len << 8) | b[at++];
        if (len < 0x80 || (octets > 1 && len < (std::size_t{1} << (8 * (octets - 1))))) return false;
    }
    if (len > n - at) return false;
    tag = t;
    content = in.substr(at, len);
    if (whole != nullptr) *whole = in.substr(start, at + len - start);
    pos = at + len;
    return true;
}

bool der_oid_valid(std::string_view c) {
    if (c.empty() || (static_cast<unsigned char>(c.back()) & 0x80) != 0) return false;
    bool start = true;
    for (char ch : c) {
        const auto v = static_cast<unsigned char>(ch);
        if (start && v == 0x80) return false;  // a subidentifier with a leading zero group
        start = (v & 0x80) == 0;
    }
    return true;
}

namespace {

// The next TLV must carry `tag`.
bool der_expect(std::string_view in, std::size_t& pos, unsigned char tag, std::string_view& content,
                std::string_view* whole = nullptr) {
    unsigned char t = 0;
    std::size_t at = pos;
    if (!der_next(in, at, t, content, whole) || t != tag) return false;
    pos = at;
    return true;
}

// A minimal INTEGER content (c2i_ASN1_INTEGER refuses the others).
bool der_integer_valid(std::string_view c) {
    if (c.empty()) return false;
    if (c.size() == 1) return true;
    const auto b0 = static_cast<unsigned char>(c[0]);
    const auto b1 = static_cast<unsigned char>(c[1]);
    return !((b0 == 0x00 && (b1 & 0x80) == 0) || (b0 == 0xFF && (b1 & 0x80) != 0));
}

// AlgorithmIdentifier: an OID, then nothing, NULL, an OID or (signature
// algorithms) a SEQUENCE: the parameter forms that OpenSSL re-encodes byte
// for byte. `params` gets the parameters' whole TLV (empty when absent).
bool der_algorithm(std::string_view in, std::size_t& pos, std::string_view& oid, std::string_view* params,
                   bool allow_sequence) {
    std::string_view body;
    if (!der_expect(in, pos, 0x30, body)) return false;
    std::size_t at = 0;
    if (!der_expect(body, at, 0x06, oid) || !der_oid_valid(oid)) return false;
    if (params != nullptr) *params = {};
    if (at == body.size()) return true;
    unsigned char tag = 0;
    std::string_view content;
    std::string_view whole;
    if (!der_next(body, at, tag, content, &whole) || at != body.size()) return false;
    if (params != nullptr) *params = whole;
    switch (tag) {
    case 0x05: return content.empty();
    case 0x06: return der_oid_valid(content);
    case 0x30: return allow_sequence;  // kept as its encoding (V_ASN1_SEQUENCE), like RSA-PSS parameters
    default: return false;
    }
}

// A Name: SEQUENCE OF SET OF SEQUENCE { OID, string }, walked for framing
// only (the name itself is read by the caller).
bool der_name(std::string_view in, std::size_t& pos, std::string_view& whole) {
    std::string_view body;
    if (!der_expect(in, pos, 0x30, body, &whole)) return false;
    for (std::size_t at = 0; at < body.size();) {
        std::string_view rdn;
        if (!der_expect(body, at, 0x31, rdn) || rdn.empty()) return false;
        for (std::size_t r = 0; r < rdn.size();) {
            std::string_view atv;
            if (!der_expect(rdn, r, 0x30, atv)) return false;
            std::size_t a = 0;
            std::string_view oid;
            unsigned char tag = 0;
            std::string_view value;
            if (!der_expect(atv, a, 0x06, oid) || !der_oid_valid(oid) || !der_next(atv, a, tag, value) ||
                a != atv.size()) {
                return false;
            }
        }
    }
    return true;
}

int days_in_month(int year, int month) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

bool lean_time(unsigned char tag, std::string_view c, std::int64_t& seconds) {
    std::size_t digits = 0;
    if (tag == 0x17) {
        digits = 12;
    } else if (tag == 0x18) {
        digits = 14;
    } else {
        return false;
    }
    if (c.size() != digits + 1 || c[digits] != 'Z') return false;
    int v[7] = {0, 0, 0, 0, 0, 0, 0};
    std::size_t at = 0;
    for (int field = 0; field < 7; ++field) {
        if (field == 0 && tag == 0x17) continue;  // UTCTime has a two-digit year
        for (int k = 0; k < 2; ++k, ++at) {
            if (c[at] < '0' || c[at] > '9') return false;
            v[field] = v[field] * 10 + (c[at] - '0');
        }
    }
    // v[0] century digits (GeneralizedTime), v[1] year, then month .. second.
    const int year = tag == 0x17 ? (v[1] < 50 ? 2000 + v[1] : 1900 + v[1]) : v[0] * 100 + v[1];
    const int month = v[2], day = v[3], hour = v[4], minute = v[5], second = v[6];
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
        second > 59) {
        return false;
    }
    seconds = epoch_seconds(year, month, day, hour, minute, second);
    return true;
}

bool lean_rsa_bits(std::string_view key, std::optional<int>& bits) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER },
    // strict DER and nothing after it; otherwise decline.
    std::size_t pos = 0;
    std::string_view body;
    if (!der_expect(key, pos, 0x30, body) || pos != key.size()) return false;
    std::size_t at = 0;
    std::string_view n;
    std::string_view e;
    if (!der_expect(body, at, 0x02, n) || !der_expect(body, at, 0x02, e) || at != body.size()) return false;
    if (!der_integer_valid(n) || !der_integer_valid(e) || (static_cast<unsigned char>(n[0]) & 0x80) != 0) return false;
    // As BN_num_bits of the magnitude (the BIGNUM item reads it unsigned).
    std::size_t i = 0;
    while (i < n.size() && n[i] == 0) ++i;
    if (i == n.size()) {
        bits = std::nullopt;
        return true;
    }
    int top = 0;
    for (auto b = static_cast<unsigned char>(n[i]); b != 0; b >>= 1) ++top;
    bits = static_cast<int>(8 * (n.size() - i - 1)) + top;
    return true;
}

bool lean_ec_bits(std::string_view curve_oid, std::string_view key, std::optional<int>& bits) {
    // The namedCurve OIDs of named_curve_group, as DER content.
    struct Curve {
        const char* oid;
        std::size_t len;
        int nid;
    };
    static const Curve kCurves[] = {
        {"\x2A\x86\x48\xCE\x3D\x03\x01\x07", 8, NID_X9_62_prime256v1},
        {"\x2B\x81\x04\x00\x22", 5, NID_secp384r1},
        {"\x2B\x81\x04\x00\x23", 5, NID_secp521r1},
    };
    for (const Curve& c : kCurves) {
        if (curve_oid == std::string_view(c.oid, c.len)) {
            bits = ec_point_bits(named_curve_group(c.nid), reinterpret_cast<const unsigned char*>(key.data()),
                                 key.size());
            ERR_clear_error();
            return true;
        }
    }
    return false;
}

bool decode_lean(std::string_view der, LeanCert& out) {
    std::size_t pos = 0;
    std::string_view cert;
    if (!der_expect(der, pos, 0x30, cert) || pos != der.size()) return false;
    std::size_t c = 0;
    std::string_view tbs;
    if (!der_expect(cert, c, 0x30, tbs, &out.tbs)) return false;
    // signatureAlgorithm and signatureValue (a BIT STRING without unused bits).
    std::string_view outer_oid;
    std::string_view sig;
    if (!der_algorithm(cert, c, outer_oid, nullptr, true) || !der_expect(cert, c, 0x03, sig) || sig.empty() ||
        sig[0] != 0 || c != cert.size()) {
        return false;
    }

    std::size_t t = 0;
    std::string_view content;
    if (t < tbs.size() && static_cast<unsigned char>(tbs[0]) == 0xA0) {  // [0] EXPLICIT version
        std::string_view version;
        std::size_t v = 0;
        if (!der_expect(tbs, t, 0xA0, content) || !der_expect(content, v, 0x02, version) || v != content.size() ||
            !der_integer_valid(version)) {
            return false;
        }
    }
    if (!der_expect(tbs, t, 0x02, out.serial) || !der_integer_valid(out.serial)) return false;
    if (!der_algorithm(tbs, t, out.sig_oid, nullptr, true)) return false;
    if (!der_name(tbs, t, out.issuer)) return false;
    std::string_view validity;
    if (!der_expect(tbs, t, 0x30, validity)) return false;
    std::size_t v = 0;
    if (!der_next(validity, v, out.not_before_tag, out.not_before) ||
        !der_next(validity, v, out.not_after_tag, out.not_after) || v != validity.size()) {
        return false;
    }
    if (!der_name(tbs, t, out.subject)) return false;
    std::string_view spki;
    if (!der_expect(tbs, t, 0x30, spki, &out.spki)) return false;
    std::size_t k = 0;
    std::string_view key_bitstring;
    if (!der_algorithm(spki, k, out.key_oid, &out.key_params, false) || !der_expect(spki, k, 0x03, key_bitstring) ||
        k != spki.size() || key_bitstring.empty() || key_bitstring[0] != 0) {
        return false;
    }
    out.key = key_bitstring.substr(1);
    const std::size_t head_end = t;
    out.tbs_head = tbs.substr(0, head_end);
    out.extensions.clear();
    out.has_extensions = false;
    if (t < tbs.size()) {
        // No issuerUniqueID / subjectUniqueID: only [3] may follow.
        std::string_view list;
        std::size_t l = 0;
        if (!der_expect(tbs, t, 0xA3, content) || t != tbs.size() || !der_expect(content, l, 0x30, list) ||
            l != content.size()) {
            return false;
        }
        out.has_extensions = true;
        for (std::size_t e = 0; e < list.size();) {
            LeanExtension ext;
            std::string_view body;
            if (!der_expect(list, e, 0x30, body, &ext.whole)) return false;
            std::size_t b = 0;
            if (!der_expect(body, b, 0x06, ext.oid) || !der_oid_valid(ext.oid)) return false;
            if (b < body.size() && static_cast<unsigned char>(body[b]) == 0x01) {
                std::string_view critical;
                // DER: a critical flag is TRUE as 0xFF (FALSE is the default,
                // left out); OpenSSL would re-encode any other form.
                if (!der_expect(body, b, 0x01, critical) || critical.size() != 1 ||
                    static_cast<unsigned char>(critical[0]) != 0xFF) {
                    return false;
                }
            }
            unsigned char tag = 0;
            if (!der_next(body, b, tag, ext.value) || tag != 0x04 || b != body.size()) return false;
            // A repeated extension: X509V3_get_d2i's rules (absent) are the other paths'.
            if (std::any_of(out.extensions.begin(), out.extensions.end(),
                            [&](const LeanExtension& seen) { return seen.oid == ext.oid; })) {
                return false;
            }
            out.extensions.push_back(ext);
        }
    }
    return true;
}

}  // namespace netbox_ssl::detail

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

#include <climits>
#include <cstring>

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

std::optional<int> ec_bits(const LightSpki& spki) {
    const EC_GROUP* group = ec_named_group(spki);
    if (group == nullptr) return std::nullopt;
    const unsigned char* p = ASN1_STRING_get0_data(spki.public_key);
    const int len = ASN1_STRING_length(spki.public_key);
    if (p == nullptr || len <= 0) return std::nullopt;
    // The EC key decoder keeps a key only if its point decodes onto the curve.
    std::unique_ptr<EC_POINT, EcPointFree> point(EC_POINT_new(group));
    if (!point || EC_POINT_oct2point(group, point.get(), p, static_cast<std::size_t>(len), nullptr) != 1) {
        return std::nullopt;
    }
    const int bits = EC_GROUP_order_bits(group);
    return bits > 0 ? std::optional<int>(bits) : std::nullopt;
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

}  // namespace netbox_ssl::detail

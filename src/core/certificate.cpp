// Certificate parsing: PEM/DER bytes in, CertificateInfo out.
//
// Every OpenSSL object is owned by a unique_ptr with its matching free
// function, and the OpenSSL error queue is empty whenever we return or throw:
// the backend shares the queue with PostgreSQL's own TLS code.
#include "core/openssl_ptr.hpp"
#include "core/certificate.hpp"

#include "core/bundle_reader.hpp"
#include "core/cancel.hpp"
#include "core/csr.hpp"
#include "core/encoding.hpp"
#include "core/fast_x509.hpp"
#include "core/input.hpp"
#include "core/x509_text.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <array>
#include <cstring>
#include <ctime>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace netbox_ssl {
namespace {


// Shared helpers: field text (x509_text.hpp) and input handling (input.hpp).
using namespace detail;  // NOLINT(google-build-using-namespace)

using X509Ptr = Owned<X509, X509_free>;
using BasicConstraintsPtr = Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using OctetStringPtr = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using AuthorityKeyIdPtr = Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using DistPointsPtr = Owned<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;
using InfoAccessPtr = Owned<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free>;

// One certificate of the input, from either decoder: `light` (the fast path,
// public key left encoded) or `x509` (d2i_X509, the reference). `fields`
// points into whichever is set.
struct DecodedCert {
    X509Ptr x509;
    detail::LightCertPtr light;
    detail::CertFields fields;
    std::string der;  // exactly the certificate's bytes (no trust aux data)
};

detail::CertFields x509_fields(const X509* cert) {
    detail::CertFields f;
    f.subject = X509_get_subject_name(cert);
    f.issuer = X509_get_issuer_name(cert);
    f.serial = X509_get0_serialNumber(cert);
    f.not_before = X509_get0_notBefore(cert);
    f.not_after = X509_get0_notAfter(cert);
    f.extensions = X509_get0_extensions(cert);
    // The tbsCertificate copy: it is covered by the signature, and it is the
    // one `openssl x509 -text` prints under Certificate/Data. The outer copy
    // differs only in malformed certificates.
    f.tbs_signature = X509_get0_tbs_sigalg(cert);
    ASN1_OBJECT* key_oid = nullptr;
    X509_PUBKEY_get0_param(&key_oid, nullptr, nullptr, nullptr, X509_get_X509_PUBKEY(cert));
    f.key_algorithm = key_oid;
    return f;
}

// With `fast`, tries the fast decoder first; whatever it declines (including
// every input that is not exactly one certificate) goes through d2i_X509,
// which then also produces any error.
DecodedCert decode_der(std::string der, bool trusted_aux, bool fast) {
    require_der_outer(der);
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    if (fast) {
        detail::LightCertPtr light = detail::decode_light(begin, der.size());
        if (light) {
            DecodedCert dc;
            dc.fields = detail::fields_of(*light);
            dc.light = std::move(light);
            dc.der = std::move(der);
            return dc;
        }
    }
    const long len = static_cast<long>(der.size());
    const unsigned char* p = begin;
    X509Ptr cert(d2i_X509(nullptr, &p, len));
    if (!cert) {
        std::string reason = take_openssl_reason();
        refuse_if_key(der);
        malformed("input is not a valid X.509 certificate", reason);
    }
    const std::size_t cert_len = static_cast<std::size_t>(p - begin);
    if (cert_len != der.size()) {
        // "TRUSTED CERTIFICATE" appends OpenSSL's trust settings after the
        // certificate; anything else after it is garbage.
        bool aux_ok = false;
        if (trusted_aux) {
            const unsigned char* q = begin;
            X509Ptr with_aux(d2i_X509_AUX(nullptr, &q, len));
            aux_ok = with_aux && q == begin + len;
        }
        if (!aux_ok) {
            ERR_clear_error();
            refuse_if_key(der.substr(cert_len));  // a certificate followed by its key
            malformed("certificate is followed by unexpected trailing data",
                      std::to_string(der.size() - cert_len) + " extra byte(s) follow the certificate's DER encoding.");
        }
    }
    ERR_clear_error();
    DecodedCert dc;
    dc.fields = x509_fields(cert.get());
    dc.x509 = std::move(cert);
    der.resize(cert_len);
    dc.der = std::move(der);
    return dc;
}

std::optional<std::string> key_id_text(const ASN1_OCTET_STRING* id) {
    if (id == nullptr) return std::nullopt;
    return colon_hex(ASN1_STRING_get0_data(id), static_cast<std::size_t>(ASN1_STRING_length(id)));
}

// X509_get_ext_d2i on the certificate's extension list.
template <typename T>
T* get_ext(const detail::CertFields& cert, int nid) {
    int critical = 0;
    T* ext = static_cast<T*>(X509V3_get_d2i(cert.extensions, nid, &critical, nullptr));
    ERR_clear_error();  // absent or undecodable extensions are treated alike
    return ext;
}

// The public key columns from d2i_X509's decoded key.
void fill_key_fields_x509(X509* cert, CertificateInfo& info) {
    if (info.algorithm == "rsa" || info.algorithm == "ecdsa" || info.algorithm == "dsa") {
        // A key OpenSSL cannot decode (broken parameters, unnamed curve it
        // does not know) simply has no size; the certificate still imports.
        EVP_PKEY* pkey = X509_get0_pubkey(cert);
        int bits = pkey != nullptr ? EVP_PKEY_get_bits(pkey) : 0;
        if (bits > 0) info.key_size = bits;
    }
    unsigned char* spki_der = nullptr;
    int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki_der);
    if (spki_len <= 0) {
        malformed("certificate's public key cannot be encoded", take_openssl_reason());
    }
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> spki_owner(spki_der, free_openssl_bytes);
    info.spki_sha256 = sha256_hex(spki_der, static_cast<std::size_t>(spki_len));
}

// The reference computation of tbs_sha256, the way OpenSSL's own CT code
// rebuilds a precertificate's TBSCertificate (crypto/ct/ct_sct_ctx.c): a copy
// of the certificate, the extensions deleted, the TBSCertificate re-encoded.
std::string tbs_sha256_x509(const X509* cert) {
    X509Ptr copy(X509_dup(cert));
    if (!copy) throw Error(ErrorKind::Internal, "cannot copy a certificate", take_openssl_reason());
    for (int nid : {NID_ct_precert_poison, NID_ct_precert_scts}) {
        for (int at = X509_get_ext_by_NID(copy.get(), nid, -1); at >= 0; at = X509_get_ext_by_NID(copy.get(), nid, -1)) {
            X509_EXTENSION_free(X509_delete_ext(copy.get(), at));
        }
    }
    unsigned char* tbs = nullptr;
    const int len = i2d_re_X509_tbs(copy.get(), &tbs);
    if (len <= 0 || tbs == nullptr) {
        throw Error(ErrorKind::Internal, "cannot re-encode a certificate's TBSCertificate", take_openssl_reason());
    }
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owner(tbs, free_openssl_bytes);
    return sha256_hex(tbs, static_cast<std::size_t>(len));
}

// The first value of attribute `nid` in `name`, as common_name is read.
std::optional<std::string> first_name_value(const X509_NAME* name, int nid) {
    const int at = X509_NAME_get_index_by_NID(name, nid, -1);
    if (at < 0) return std::nullopt;
    return asn1_string_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
}

// The URI of a GeneralName, as text like the other text columns (no NUL,
// valid UTF-8), or nothing for the other kinds of name.
void push_uri(const GENERAL_NAME* gn, std::vector<std::string>& out) {
    int type = 0;
    void* value = GENERAL_NAME_get0_value(gn, &type);
    if (type == GEN_URI && value != nullptr) out.push_back(ia5_text(static_cast<ASN1_IA5STRING*>(value)));
}

// crl_urls: the fullName URIs of every DistributionPoint, in order (a
// nameRelativeToCRLIssuer names no URL); ocsp_urls and ca_issuers_urls: the
// URI accessLocations of Authority Information Access, by access method.
// An extension that is absent, repeated or undecodable gives no URLs, as
// for the other extensions (X509V3_get_d2i).
void crl_urls_of(const CRL_DIST_POINTS* points, CertificateInfo& info) {
    for (int i = 0; points != nullptr && i < sk_DIST_POINT_num(points); ++i) {
        const DIST_POINT* dp = sk_DIST_POINT_value(points, i);
        if (dp == nullptr || dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
        const GENERAL_NAMES* names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) push_uri(sk_GENERAL_NAME_value(names, j), info.crl_urls);
    }
}

void access_urls_of(const AUTHORITY_INFO_ACCESS* access, CertificateInfo& info) {
    for (int i = 0; access != nullptr && i < sk_ACCESS_DESCRIPTION_num(access); ++i) {
        const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(access, i);
        if (ad == nullptr) continue;
        const int method = OBJ_obj2nid(ad->method);
        if (method == NID_ad_OCSP) push_uri(ad->location, info.ocsp_urls);
        if (method == NID_ad_ca_issuers) push_uri(ad->location, info.ca_issuers_urls);
    }
}

void fill_revocation_urls(const detail::CertFields& cert, CertificateInfo& info) {
    DistPointsPtr points(get_ext<CRL_DIST_POINTS>(cert, NID_crl_distribution_points));
    crl_urls_of(points.get(), info);
    InfoAccessPtr access(get_ext<AUTHORITY_INFO_ACCESS>(cert, NID_info_access));
    access_urls_of(access.get(), info);
}

void fill_fields(const DecodedCert& dc, CertificateInfo& info) {
    const detail::CertFields& cert = dc.fields;
    const auto* der = reinterpret_cast<const unsigned char*>(dc.der.data());

    info.subject = name_rfc2253(cert.subject);
    info.issuer = name_rfc2253(cert.issuer);
    info.serial_number = serial_text(cert.serial);
    info.fingerprint_sha256 = sha256_hex(der, dc.der.size());
    info.valid_from = asn1_time_to_epoch(cert.not_before, "notBefore");
    info.valid_to = asn1_time_to_epoch(cert.not_after, "notAfter");

    GeneralNamesPtr names(get_ext<GENERAL_NAMES>(cert, NID_subject_alt_name));
    std::optional<std::string> first_dns;
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
            int type = 0;
            void* value = GENERAL_NAME_get0_value(gn, &type);
            if (type == GEN_DNS && !first_dns) first_dns = ia5_text(static_cast<ASN1_IA5STRING*>(value));
            info.sans.push_back(general_name_text(gn));
        }
    }

    info.common_name = first_name_value(cert.subject, NID_commonName);
    if (!info.common_name) info.common_name = first_dns;
    info.issuer_cn = first_name_value(cert.issuer, NID_commonName);
    info.issuer_org = first_name_value(cert.issuer, NID_organizationName);

    info.algorithm = public_key_algorithm(OBJ_obj2nid(cert.key_algorithm));
    if (dc.light) {
        // decode_light only keeps key types whose size it derives exactly,
        // and SPKI bytes that equal i2d_X509_PUBKEY's encoding.
        info.key_size = detail::key_bits(*dc.light);
        const std::string_view spki = detail::spki_der(*dc.light);
        info.spki_sha256 = sha256_hex(reinterpret_cast<const unsigned char*>(spki.data()), spki.size());
        const std::optional<std::string> tbs = detail::tbs_der_without_ct(*dc.light);
        if (!tbs) throw Error(ErrorKind::Internal, "cannot re-encode a certificate's TBSCertificate");
        info.tbs_sha256 = sha256_hex(reinterpret_cast<const unsigned char*>(tbs->data()), tbs->size());
    } else {
        fill_key_fields_x509(dc.x509.get(), info);
        info.tbs_sha256 = tbs_sha256_x509(dc.x509.get());
    }

    const ASN1_OBJECT* sig_oid = nullptr;
    X509_ALGOR_get0(&sig_oid, nullptr, nullptr, cert.tbs_signature);
    info.signature_algorithm = oid_text(sig_oid, false);

    BasicConstraintsPtr bc(get_ext<BASIC_CONSTRAINTS>(cert, NID_basic_constraints));
    info.is_ca = bc && bc->ca != 0;

    OctetStringPtr skid(get_ext<ASN1_OCTET_STRING>(cert, NID_subject_key_identifier));
    info.subject_key_id = key_id_text(skid.get());
    AuthorityKeyIdPtr akid(get_ext<AUTHORITY_KEYID>(cert, NID_authority_key_identifier));
    info.authority_key_id = akid ? key_id_text(akid->keyid) : std::nullopt;

    fill_revocation_urls(cert, info);

    info.pem_content = pem_encode(dc.der, "CERTIFICATE");
    ERR_clear_error();
}

// How certificates of one input chain to each other, for ordering a bundle:
// `issuer` plausibly issued `subject` when the subject's issuer name matches
// the issuer's subject name (X509_NAME_cmp) and, when the subject carries an
// authority key identifier and the issuer a subject key identifier, those
// match too. Signatures are not checked: this only orders a bundle, it does
// not validate it.
struct LinkKeys {
    const X509_NAME* subject = nullptr;
    const X509_NAME* issuer = nullptr;
    bool has_skid = false;
    std::string skid;
    bool has_akid = false;  // the extension with a keyIdentifier
    std::string akid;
};

LinkKeys link_keys(const detail::CertFields& f) {
    LinkKeys k;
    k.subject = f.subject;
    k.issuer = f.issuer;
    OctetStringPtr skid(get_ext<ASN1_OCTET_STRING>(f, NID_subject_key_identifier));
    if (skid) {
        k.has_skid = true;
        k.skid.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(skid.get())),
                      static_cast<std::size_t>(ASN1_STRING_length(skid.get())));
    }
    AuthorityKeyIdPtr akid(get_ext<AUTHORITY_KEYID>(f, NID_authority_key_identifier));
    if (akid && akid->keyid != nullptr) {
        k.has_akid = true;
        k.akid.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(akid->keyid)),
                      static_cast<std::size_t>(ASN1_STRING_length(akid->keyid)));
    }
    return k;
}

// Three-way comparison of (name, has_id, id): the sort key of the lookup
// indexes below. X509_NAME_cmp compares the canonical encodings, as
// issued_by did on 1.4.
int compare_link(const X509_NAME* an, bool ah, const std::string& a, const X509_NAME* bn, bool bh,
                 const std::string& b, bool with_id) {
    const int c = X509_NAME_cmp(an, bn);
    if (c != 0 || !with_id) return c < 0 ? -1 : c > 0 ? 1 : 0;
    if (ah != bh) return ah ? 1 : -1;
    const int d = a.compare(b);
    return d < 0 ? -1 : d > 0 ? 1 : 0;
}

// Certificate indexes sorted by one key; lookups by binary search. Ties
// keep input order, so "the first match" is the one 1.4 picked.
class LinkIndex {
public:
    // by_issuer: keyed by (issuer, akid), else by (subject[, skid]).
    LinkIndex(const std::vector<LinkKeys>& keys, bool by_issuer, bool with_id)
        : keys_(keys), by_issuer_(by_issuer), with_id_(with_id), order_(keys.size()), cursor_(keys.size()) {
        for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = cursor_[i] = i;
        // stable_sort (a merge sort) stays memory-safe even if a comparison
        // were inconsistent; the index order breaks ties.
        std::stable_sort(order_.begin(), order_.end(),
                         [this](std::size_t a, std::size_t b) { return compare(a, name_of(b), has_of(b), id_of(b)) < 0; });
        ERR_clear_error();
    }

    // [lo, hi) of order_ whose key equals (name, has, id).
    std::pair<std::size_t, std::size_t> range(const X509_NAME* name, bool has, const std::string& id) const {
        auto lo = std::lower_bound(order_.begin(), order_.end(), 0, [&](std::size_t e, int) {
            return compare(e, name, has, id) < 0;
        });
        auto hi = std::upper_bound(lo, order_.end(), 0, [&](int, std::size_t e) {
            return compare(e, name, has, id) > 0;
        });
        return {static_cast<std::size_t>(lo - order_.begin()), static_cast<std::size_t>(hi - order_.begin())};
    }

    // Whether the range holds a certificate other than `self`.
    bool has_other(std::pair<std::size_t, std::size_t> r, std::size_t self) const {
        const std::size_t size = r.second - r.first;
        return size >= 2 || (size == 1 && order_[r.first] != self);
    }

    // The first certificate of the range (input order) not yet used, or
    // keys.size(). Used ones only ever accumulate, so a cursor per range
    // skips each of them once in total.
    std::size_t first_unused(std::pair<std::size_t, std::size_t> r, const std::vector<bool>& used) {
        if (r.first == r.second) return keys_.size();
        std::size_t c = std::max(cursor_[r.first], r.first);
        while (c < r.second && used[order_[c]]) ++c;
        cursor_[r.first] = c;
        return c < r.second ? order_[c] : keys_.size();
    }

private:
    const X509_NAME* name_of(std::size_t i) const { return by_issuer_ ? keys_[i].issuer : keys_[i].subject; }
    bool has_of(std::size_t i) const { return by_issuer_ ? keys_[i].has_akid : keys_[i].has_skid; }
    const std::string& id_of(std::size_t i) const { return by_issuer_ ? keys_[i].akid : keys_[i].skid; }
    int compare(std::size_t e, const X509_NAME* name, bool has, const std::string& id) const {
        return compare_link(name_of(e), has_of(e), id_of(e), name, has, id, with_id_);
    }

    const std::vector<LinkKeys>& keys_;
    bool by_issuer_;
    bool with_id_;
    std::vector<std::size_t> order_;
    std::vector<std::size_t> cursor_;
};

// The leaf is the first certificate that issues none of the others; the
// rest follow leaf to root (each the first unused certificate that issued
// the previous one), then whatever is left in input order. Same result as
// 1.4's all-pairs scan, in O(n log n) name comparisons instead of O(n^2).
CertificateInfo build_info(std::vector<DecodedCert>& certs) {
    // Identical blocks (a leaf pasted twice) count once.
    std::vector<DecodedCert> unique;
    {
        std::vector<bool> keep(certs.size(), false);
        std::unordered_set<std::string_view> seen;
        for (std::size_t i = 0; i < certs.size(); ++i) keep[i] = seen.insert(certs[i].der).second;
        for (std::size_t i = 0; i < certs.size(); ++i) {
            if (keep[i]) unique.push_back(std::move(certs[i]));
        }
    }
    const std::size_t n = unique.size();
    std::size_t leaf = 0;
    std::vector<std::size_t> order;
    if (n > 1) {
        std::vector<LinkKeys> keys;
        keys.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            if (i % 64 == 0) poll_cancel();
            keys.push_back(link_keys(unique[i].fields));
        }
        poll_cancel();
        // Certificates by what issued them, to ask "does k issue any other?":
        // by issuer name alone (k without a skid matches any akid), and by
        // issuer name and akid.
        const LinkIndex by_issuer_name(keys, true, false);
        const LinkIndex by_issuer(keys, true, true);
        const std::string none;
        for (std::size_t k = 0; k < n; ++k) {
            if (k % 256 == 0) poll_cancel();
            const LinkKeys& c = keys[k];
            const bool issues_any =
                c.has_skid ? by_issuer.has_other(by_issuer.range(c.subject, false, none), k) ||
                                 by_issuer.has_other(by_issuer.range(c.subject, true, c.skid), k)
                           : by_issuer_name.has_other(by_issuer_name.range(c.subject, false, none), k);
            if (!issues_any) {
                leaf = k;
                break;
            }
        }
        ERR_clear_error();

        std::vector<bool> used(n, false);
        used[leaf] = true;
        LinkIndex by_subject(keys, false, false);
        LinkIndex by_subject_skid(keys, false, true);
        for (std::size_t cur = leaf;;) {
            poll_cancel();
            const LinkKeys& c = keys[cur];
            // Without an akid any issuer of the name qualifies; with one,
            // those without a skid and those whose skid matches.
            const std::size_t next =
                !c.has_akid
                    ? by_subject.first_unused(by_subject.range(c.issuer, false, none), used)
                    : std::min(by_subject_skid.first_unused(by_subject_skid.range(c.issuer, false, none), used),
                               by_subject_skid.first_unused(by_subject_skid.range(c.issuer, true, c.akid), used));
            if (next == n) break;
            used[next] = true;
            order.push_back(next);
            cur = next;
        }
        ERR_clear_error();
        for (std::size_t i = 0; i < n; ++i) {
            if (!used[i]) order.push_back(i);
        }
    }

    CertificateInfo info;
    fill_fields(unique[leaf], info);
    for (std::size_t i : order) {
        if (i % 64 == 0) poll_cancel();
        info.issuer_chain += pem_encode(unique[i].der, "CERTIFICATE");
    }
    return info;
}

// The certificates of a PKCS#7 / CMS SignedData, in their stored order.
// Returns false when `der` is not a ContentInfo at all.
bool append_pkcs7(std::string_view der, std::vector<DecodedCert>& certs, bool fast) {
    std::size_t pos = 0;
    std::size_t end = 0;
    if (!pkcs7_certificate_area(der, pos, end)) return false;
    std::string_view cert;
    while (next_pkcs7_certificate(der, pos, end, cert)) {
        poll_cancel();
        certs.push_back(decode_der(std::string(cert), false, fast));
    }
    return true;
}

std::optional<CertificateInfo> parse_lean(std::string_view der);

CertificateInfo parse_pem_blocks(std::string_view text, bool fast) {
    std::vector<PemBlock> blocks = split_pem(text);  // throws on key labels and broken armour
    if (fast) {
        // One CERTIFICATE block (any other blocks are ignored): the lean path.
        const PemBlock* only = nullptr;
        std::size_t certificates = 0;
        for (const PemBlock& block : blocks) {
            if (block.kind == PemKind::Certificate || block.kind == PemKind::TrustedCertificate ||
                block.kind == PemKind::Pkcs7) {
                ++certificates;
                only = &block;
            }
        }
        if (certificates == 1 && only->kind == PemKind::Certificate) {
            if (std::optional<CertificateInfo> info = parse_lean(only->der)) return std::move(*info);
        }
    }
    std::vector<DecodedCert> certs;
    // The labels of other blocks, for the error message: distinct ones, at
    // most kMaxLabels of them (1.4 searched the growing list for every
    // block, quadratic on many distinct labels).
    constexpr std::size_t kMaxLabels = 8;
    std::string other_labels;
    std::unordered_set<std::string> label_set;
    bool labels_cut = false;
    bool saw_pkcs7 = false;
    for (PemBlock& block : blocks) {
        poll_cancel();
        if (block.kind == PemKind::Certificate || block.kind == PemKind::TrustedCertificate) {
            certs.push_back(decode_der(std::move(block.der), block.kind == PemKind::TrustedCertificate, fast));
        } else if (block.kind == PemKind::Pkcs7) {
            if (!append_pkcs7(block.der, certs, fast)) malformed("PEM block " + block.label + " is not a PKCS#7 ContentInfo");
            saw_pkcs7 = true;
        } else if (label_set.size() < kMaxLabels) {
            if (label_set.insert(block.label).second) other_labels += (other_labels.empty() ? "" : ", ") + block.label;
        } else if (label_set.count(block.label) == 0 && !labels_cut) {
            other_labels += " and more";
            labels_cut = true;
        }
    }
    if (certs.empty()) {
        if (saw_pkcs7) {
            malformed("input contains a PKCS#7 bundle without certificates");
        }
        if (blocks.empty()) {
            malformed("input contains no PEM certificate", "A -----BEGIN CERTIFICATE----- block was expected.");
        }
        malformed("input contains no certificate, only other PEM blocks",
                  "Found: " + other_labels + ".");
    }
    return build_info(certs);
}

// ---------------------------------------------------------------------------
// The lean path: one certificate decoded by the strict DER walker
// (fast_x509.hpp, decode_lean) and its columns read from the exact bytes.
// Every column is computed as fill_fields computes it from OpenSSL's
// decoding; where a value is not one of the simple forms read here, the
// same OpenSSL decoder that X509V3_get_d2i would use runs on the same bytes,
// and where even that could differ (an unusual name, time or key) the whole
// certificate is declined and takes the other paths.

// The text columns of one Name.
struct LeanName {
    std::string text;  // as name_rfc2253
    std::optional<std::string> cn;
    std::optional<std::string> org;
};

// Attribute types the simple name printer knows, as OID content; the short
// names come from OpenSSL (OBJ_nid2sn), as X509_NAME_print_ex prints them.
struct AttributeType {
    std::string_view oid;
    int nid;  // cppcheck-suppress unusedStructMember ; read through find_if's iterator
};
const AttributeType kAttributeTypes[] = {
    {std::string_view("\x55\x04\x03", 3), NID_commonName},
    {std::string_view("\x55\x04\x06", 3), NID_countryName},
    {std::string_view("\x55\x04\x07", 3), NID_localityName},
    {std::string_view("\x55\x04\x08", 3), NID_stateOrProvinceName},
    {std::string_view("\x55\x04\x0A", 3), NID_organizationName},
    {std::string_view("\x55\x04\x0B", 3), NID_organizationalUnitName},
    {std::string_view("\x55\x04\x05", 3), NID_serialNumber},
    {std::string_view("\x55\x04\x09", 3), NID_streetAddress},
    {std::string_view("\x55\x04\x11", 3), NID_postalCode},
    {std::string_view("\x55\x04\x0F", 3), NID_businessCategory},
    {std::string_view("\x2A\x86\x48\x86\xF7\x0D\x01\x09\x01", 9), NID_pkcs9_emailAddress},
    {std::string_view("\x09\x92\x26\x89\x93\xF2\x2C\x64\x01\x19", 10), NID_domainComponent},
};

// A value the printer writes as it stands: printable ASCII without the
// characters RFC 2253 escapes (and '=' and '#' anywhere, to be safe), not
// starting or ending with a space.
bool plain_value(std::string_view v) {
    if (v.empty() || v.front() == ' ' || v.back() == ' ') return false;
    for (char ch : v) {
        if (ch < 0x20 || ch > 0x7E) return false;
        switch (ch) {
        case ',': case '+': case '"': case '\\': case '<': case '>': case ';': case '#': case '=':
            return false;
        default:
            break;
        }
    }
    return true;
}

// Names of single-valued RDNs of known types with plain UTF8String,
// PrintableString or IA5String values: printed here exactly as
// X509_NAME_print_ex(XN_FLAG_RFC2253) prints them (reversed, ',' between).
bool simple_name(std::string_view whole, LeanName& out) {
    std::size_t pos = 0;
    unsigned char tag = 0;
    std::string_view body;
    if (!der_next(whole, pos, tag, body) || tag != 0x30 || body.empty()) return false;
    struct Entry {
        const char* sn;
        std::string_view value;
    };
    Entry entries[16];
    std::size_t n = 0;
    for (std::size_t at = 0; at != body.size();) {
        std::string_view rdn;
        std::string_view atv;
        std::string_view oid;
        std::string_view value;
        std::size_t r = 0;
        std::size_t a = 0;
        unsigned char rdn_tag = 0;
        unsigned char atv_tag = 0;
        unsigned char oid_tag = 0;
        unsigned char value_tag = 0;
        if (n == 16 || !der_next(body, at, rdn_tag, rdn) || rdn_tag != 0x31 || !der_next(rdn, r, atv_tag, atv) ||
            atv_tag != 0x30 || r != rdn.size() || !der_next(atv, a, oid_tag, oid) || oid_tag != 0x06 ||
            !der_next(atv, a, value_tag, value) || a != atv.size() ||
            (value_tag != 0x0C && value_tag != 0x13 && value_tag != 0x16) || !plain_value(value)) {
            return false;
        }
        const auto type = std::find_if(std::begin(kAttributeTypes), std::end(kAttributeTypes),
                                       [&](const AttributeType& t) { return t.oid == oid; });
        if (type == std::end(kAttributeTypes)) return false;
        if (type->nid == NID_commonName && !out.cn) out.cn = std::string(value);
        if (type->nid == NID_organizationName && !out.org) out.org = std::string(value);
        entries[n++] = {OBJ_nid2sn(type->nid), value};
    }
    for (std::size_t i = n; i-- > 0;) {
        if (i + 1 != n) out.text += ',';
        out.text.append(entries[i].sn).append(1, '=').append(entries[i].value);
    }
    return true;
}

// The name's columns: by the simple printer, else from OpenSSL's decoding of
// the same bytes (false when OpenSSL refuses them). Cached per thread by
// encoding: issuers repeat.
bool lean_name(std::string_view whole, LeanName& out) {
    constexpr std::size_t kMaxEntries = 512;
    constexpr std::size_t kMaxDer = 1024;
    thread_local std::unordered_map<std::string, LeanName> cache;
    const bool cacheable = whole.size() <= kMaxDer;
    if (cacheable) {
        auto hit = cache.find(std::string(whole));
        if (hit != cache.end()) {
            out = hit->second;
            return true;
        }
    }
    LeanName name;
    if (!simple_name(whole, name)) {
        name = LeanName();
        const auto* p = reinterpret_cast<const unsigned char*>(whole.data());
        Owned<X509_NAME, X509_NAME_free> decoded(d2i_X509_NAME(nullptr, &p, static_cast<long>(whole.size())));
        if (!decoded || p != reinterpret_cast<const unsigned char*>(whole.data()) + whole.size()) {
            ERR_clear_error();
            return false;
        }
        name.text = name_rfc2253(decoded.get());
        name.cn = first_name_value(decoded.get(), NID_commonName);
        name.org = first_name_value(decoded.get(), NID_organizationName);
    }
    if (cacheable) {
        if (cache.size() >= kMaxEntries) cache.clear();
        cache.emplace(std::string(whole), name);
    }
    out = std::move(name);
    return true;
}

// The signature algorithm's text by OID content, cached per thread.
bool lean_oid_text(std::string_view oid, std::string& out) {
    thread_local std::unordered_map<std::string, std::string> cache;
    auto hit = cache.find(std::string(oid));
    if (hit != cache.end()) {
        out = hit->second;
        return true;
    }
    if (oid.size() >= 0x80) return false;
    std::string tlv;
    tlv.reserve(oid.size() + 2);
    tlv.push_back('\x06');
    tlv.push_back(static_cast<char>(oid.size()));
    tlv.append(oid);
    const auto* p = reinterpret_cast<const unsigned char*>(tlv.data());
    Owned<ASN1_OBJECT, ASN1_OBJECT_free> obj(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(tlv.size())));
    if (!obj) {
        ERR_clear_error();
        return false;
    }
    out = oid_text(obj.get(), false);
    if (cache.size() >= 64) cache.clear();
    cache.emplace(std::string(oid), out);
    return true;
}

// An extension value that is exactly one TLV with `tag`: its content.
bool only_tlv(std::string_view value, unsigned char tag, std::string_view& content) {
    std::size_t pos = 0;
    unsigned char t = 0;
    return der_next(value, pos, t, content) && t == tag && pos == value.size();
}

template <typename T>
T* d2i_value(std::string_view value, T* (*d2i)(T**, const unsigned char**, long)) {
    const auto* p = reinterpret_cast<const unsigned char*>(value.data());
    T* out = d2i(nullptr, &p, static_cast<long>(value.size()));
    ERR_clear_error();  // undecodable extensions count as absent, as in get_ext
    return out;
}

// subjectAltName: DNS, email, URI and IP names read here; any other kind
// (or encoding) through d2i_GENERAL_NAMES, as X509V3_get_d2i decodes it.
void lean_sans(std::string_view value, CertificateInfo& info, std::optional<std::string>& first_dns) {
    std::string_view list;
    bool simple = only_tlv(value, 0x30, list);
    for (std::size_t at = 0; simple && at != list.size();) {
        unsigned char tag = 0;
        std::string_view name;
        simple = der_next(list, at, tag, name) && (tag == 0x81 || tag == 0x82 || tag == 0x86 || tag == 0x87);
    }
    if (simple) {
        info.sans.reserve(8);
        for (std::size_t at = 0; at != list.size();) {
            unsigned char tag = 0;
            std::string_view name;
            der_next(list, at, tag, name);
            if (tag == 0x87) {
                info.sans.push_back("IP:" + ip_text(reinterpret_cast<const unsigned char*>(name.data()), name.size()));
                continue;
            }
            std::string text = sanitize_text(name, true);  // as ia5_text
            if (tag == 0x82 && !first_dns) first_dns = text;
            info.sans.push_back((tag == 0x82 ? "DNS:" : tag == 0x81 ? "Email:" : "URI:") + text);
        }
        return;
    }
    GeneralNamesPtr names(d2i_value<GENERAL_NAMES>(value, d2i_GENERAL_NAMES));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        int type = 0;
        void* v = GENERAL_NAME_get0_value(gn, &type);
        if (type == GEN_DNS && !first_dns) first_dns = ia5_text(static_cast<ASN1_IA5STRING*>(v));
        info.sans.push_back(general_name_text(gn));
    }
}

bool lean_is_ca(std::string_view value) {
    static const std::string_view kEmpty("\x30\x00", 2);
    static const std::string_view kCa("\x30\x03\x01\x01\xFF", 5);
    if (value == kEmpty) return false;
    if (value == kCa || (value.size() == 8 && value.substr(0, 7) == std::string_view("\x30\x06\x01\x01\xFF\x02\x01", 7))) {
        return true;
    }
    BasicConstraintsPtr bc(d2i_value<BASIC_CONSTRAINTS>(value, d2i_BASIC_CONSTRAINTS));
    return bc && bc->ca != 0;
}

std::optional<std::string> lean_skid(std::string_view value) {
    std::string_view id;
    if (only_tlv(value, 0x04, id)) return colon_hex(reinterpret_cast<const unsigned char*>(id.data()), id.size());
    OctetStringPtr skid(d2i_value<ASN1_OCTET_STRING>(value, d2i_ASN1_OCTET_STRING));
    return key_id_text(skid.get());
}

std::optional<std::string> lean_akid(std::string_view value) {
    std::string_view body;
    std::string_view id;
    if (only_tlv(value, 0x30, body) && only_tlv(body, 0x80, id)) {
        return colon_hex(reinterpret_cast<const unsigned char*>(id.data()), id.size());
    }
    AuthorityKeyIdPtr akid(d2i_value<AUTHORITY_KEYID>(value, d2i_AUTHORITY_KEYID));
    return akid ? key_id_text(akid->keyid) : std::nullopt;
}

void der_put_length(std::string& out, std::size_t len) {
    if (len < 0x80) {
        out.push_back(static_cast<char>(len));
        return;
    }
    unsigned char buf[sizeof(std::size_t)] = {};
    std::size_t n = 0;
    for (std::size_t v = len; v != 0; v >>= 8) buf[n++] = static_cast<unsigned char>(v & 0xFF);
    out.push_back(static_cast<char>(0x80 | n));
    while (n-- > 0) out.push_back(static_cast<char>(buf[n]));
}

// The TBSCertificate without the CT extensions, in DER (what
// tbs_der_without_ct and the reference path re-encode): every other byte
// already stands as DER, so only the lengths around the list change.
std::string tbs_without_ct(const LeanCert& lc, const std::vector<bool>& ct) {
    std::string kept;
    for (std::size_t i = 0; i < lc.extensions.size(); ++i) {
        if (!ct[i]) kept.append(lc.extensions[i].whole);
    }
    std::string content(lc.tbs_head);
    if (!kept.empty()) {
        std::string list;
        list.push_back('\x30');
        der_put_length(list, kept.size());
        list.append(kept);
        content.push_back('\xA3');
        der_put_length(content, list.size());
        content.append(list);
    }
    std::string out;
    out.reserve(content.size() + 6);
    out.push_back('\x30');
    der_put_length(out, content.size());
    out.append(content);
    return out;
}

const std::string_view kOidRsa("\x2A\x86\x48\x86\xF7\x0D\x01\x01\x01", 9);
const std::string_view kOidEc("\x2A\x86\x48\xCE\x3D\x02\x01", 7);
const std::string_view kOidEd25519("\x2B\x65\x70", 3);
const std::string_view kOidEd448("\x2B\x65\x71", 3);
const std::string_view kOidSan("\x55\x1D\x11", 3);
const std::string_view kOidBasicConstraints("\x55\x1D\x13", 3);
const std::string_view kOidSkid("\x55\x1D\x0E", 3);
const std::string_view kOidAkid("\x55\x1D\x23", 3);
const std::string_view kOidCrlDp("\x55\x1D\x1F", 3);
const std::string_view kOidAia("\x2B\x06\x01\x05\x05\x07\x01\x01", 8);
const std::string_view kOidCtPoison("\x2B\x06\x01\x04\x01\xD6\x79\x02\x04\x03", 10);
const std::string_view kOidCtScts("\x2B\x06\x01\x04\x01\xD6\x79\x02\x04\x02", 10);

std::string octets(const ASN1_OCTET_STRING* s) {
    if (s == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

// The subjectKeyIdentifier's bytes and the authorityKeyIdentifier's
// keyIdentifier bytes for ChainKeys, as fill_chain_keys reads them.
std::string lean_skid_bytes(std::string_view value) {
    std::string_view id;
    if (only_tlv(value, 0x04, id)) return std::string(id);
    OctetStringPtr skid(d2i_value<ASN1_OCTET_STRING>(value, d2i_ASN1_OCTET_STRING));
    return octets(skid.get());
}

std::string lean_akid_bytes(std::string_view value) {
    std::string_view body;
    std::string_view id;
    if (only_tlv(value, 0x30, body) && only_tlv(body, 0x80, id)) return std::string(id);
    AuthorityKeyIdPtr akid(d2i_value<AUTHORITY_KEYID>(value, d2i_AUTHORITY_KEYID));
    return akid ? octets(akid->keyid) : std::string();
}

// All columns of one DER certificate but issuer_chain (and with `keys`, its
// chain keys), or false to decline (then `info` and `keys` are to be
// discarded).
bool fill_lean(std::string_view der, CertificateInfo& info, ChainKeys* keys = nullptr) {
    thread_local LeanCert lc;  // keeps the extension list's capacity
    if (!decode_lean(der, lc)) return false;
    if ((static_cast<unsigned char>(lc.serial[0]) & 0x80) != 0) return false;  // negative serials: other paths

    LeanName subject;
    LeanName issuer;
    if (!lean_name(lc.subject, subject) || !lean_name(lc.issuer, issuer)) return false;
    if (!lean_time(lc.not_before_tag, lc.not_before, info.valid_from) ||
        !lean_time(lc.not_after_tag, lc.not_after, info.valid_to)) {
        return false;
    }

    // Key types whose columns are certain: RSA with NULL parameters, EC on
    // a named curve of lean_ec_bits, Ed25519 and Ed448 without parameters.
    if (lc.key_oid == kOidRsa) {
        if (lc.key_params != std::string_view("\x05\x00", 2) || !lean_rsa_bits(lc.key, info.key_size)) return false;
        info.algorithm = public_key_algorithm(NID_rsaEncryption);
    } else if (lc.key_oid == kOidEc) {
        std::string_view curve;
        if (!only_tlv(lc.key_params, 0x06, curve) || !lean_ec_bits(curve, lc.key, info.key_size)) return false;
        info.algorithm = public_key_algorithm(NID_X9_62_id_ecPublicKey);
    } else if ((lc.key_oid == kOidEd25519 || lc.key_oid == kOidEd448) && lc.key_params.empty()) {
        info.algorithm = public_key_algorithm(lc.key_oid == kOidEd25519 ? NID_ED25519 : NID_ED448);
    } else {
        return false;
    }
    if (!lean_oid_text(lc.sig_oid, info.signature_algorithm)) return false;

    std::string_view serial = lc.serial;
    if (serial.size() > 1 && serial[0] == 0) serial.remove_prefix(1);
    info.serial_number = colon_hex(reinterpret_cast<const unsigned char*>(serial.data()), serial.size());
    info.subject = std::move(subject.text);
    info.issuer = std::move(issuer.text);
    info.issuer_cn = std::move(issuer.cn);
    info.issuer_org = std::move(issuer.org);
    info.fingerprint_sha256 = sha256_hex(reinterpret_cast<const unsigned char*>(der.data()), der.size());
    info.spki_sha256 = sha256_hex(reinterpret_cast<const unsigned char*>(lc.spki.data()), lc.spki.size());

    std::optional<std::string> first_dns;
    bool any_ct = false;
    for (const LeanExtension& ext : lc.extensions) {
        if (ext.oid == kOidSan) {
            lean_sans(ext.value, info, first_dns);
        } else if (ext.oid == kOidBasicConstraints) {
            info.is_ca = lean_is_ca(ext.value);
        } else if (ext.oid == kOidSkid) {
            info.subject_key_id = lean_skid(ext.value);
        } else if (ext.oid == kOidAkid) {
            info.authority_key_id = lean_akid(ext.value);
        } else if (ext.oid == kOidCrlDp) {
            DistPointsPtr points(d2i_value<CRL_DIST_POINTS>(ext.value, d2i_CRL_DIST_POINTS));
            crl_urls_of(points.get(), info);
        } else if (ext.oid == kOidAia) {
            InfoAccessPtr access(d2i_value<AUTHORITY_INFO_ACCESS>(ext.value, d2i_AUTHORITY_INFO_ACCESS));
            access_urls_of(access.get(), info);
        } else if (ext.oid == kOidCtPoison || ext.oid == kOidCtScts) {
            any_ct = true;
        }
    }
    info.common_name = subject.cn ? std::move(subject.cn) : std::move(first_dns);

    if (!any_ct) {
        info.tbs_sha256 = sha256_hex(reinterpret_cast<const unsigned char*>(lc.tbs.data()), lc.tbs.size());
    } else {
        std::vector<bool> ct(lc.extensions.size());
        for (std::size_t i = 0; i < ct.size(); ++i) {
            ct[i] = lc.extensions[i].oid == kOidCtPoison || lc.extensions[i].oid == kOidCtScts;
        }
        const std::string tbs = tbs_without_ct(lc, ct);
        info.tbs_sha256 = sha256_hex(reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size());
    }
    info.pem_content = pem_encode(der, "CERTIFICATE");
    if (keys != nullptr) {
        keys->der = std::string(der);
        keys->subject = std::string(lc.subject);  // the received bytes, as X509_NAME_get0_der gives them
        keys->issuer = std::string(lc.issuer);
        keys->is_ca = info.is_ca;
        keys->skid.clear();
        keys->akid.clear();
        for (const LeanExtension& ext : lc.extensions) {
            if (ext.oid == kOidSkid) keys->skid = lean_skid_bytes(ext.value);
            if (ext.oid == kOidAkid) keys->akid = lean_akid_bytes(ext.value);
        }
    }
    return true;
}

// The lean path for one DER certificate, or nullopt to take the others.
std::optional<CertificateInfo> parse_lean(std::string_view der) {
    std::optional<CertificateInfo> info(std::in_place);
    if (!fill_lean(der, *info)) {
        ERR_clear_error();
        return std::nullopt;
    }
    return info;
}

CertificateInfo finish(CertificateInfo info, const ParseOptions& options) {
    if (options.ascii_only) {
        if (info.common_name) info.common_name = escape_non_ascii(*info.common_name);
        if (info.issuer_cn) info.issuer_cn = escape_non_ascii(*info.issuer_cn);
        if (info.issuer_org) info.issuer_org = escape_non_ascii(*info.issuer_org);
        for (std::string& san : info.sans) san = escape_non_ascii(san);
        for (auto* urls : {&info.crl_urls, &info.ocsp_urls, &info.ca_issuers_urls}) {
            for (std::string& url : *urls) url = escape_non_ascii(url);
        }
    }
    return info;
}

}  // namespace

CertificateInfo parse_pem(std::string_view text, const ParseOptions& options) {
    check_input_size(text, options);
    ErrorQueueGuard guard;
    return finish(parse_pem_blocks(text, !options.force_full_parse), options);
}

CertificateInfo parse_der(std::string_view bytes, const ParseOptions& options) {
    check_input_size(bytes, options);
    ErrorQueueGuard guard;
    if (binary_input_is_pem(bytes)) return finish(parse_pem_blocks(bytes, !options.force_full_parse), options);
    if (!options.force_full_parse) {
        if (std::optional<CertificateInfo> info = parse_lean(bytes)) return finish(std::move(*info), options);
    }
    std::vector<DecodedCert> certs;
    if (append_pkcs7(bytes, certs, !options.force_full_parse)) {
        if (certs.empty()) malformed("input is a PKCS#7 bundle without certificates");
    } else {
        certs.push_back(decode_der(std::string(bytes), false, !options.force_full_parse));
    }
    return finish(build_info(certs), options);
}

namespace {

std::string name_der(const X509_NAME* name) {
    const unsigned char* der = nullptr;
    std::size_t len = 0;
    if (X509_NAME_get0_der(name, &der, &len) != 1 || der == nullptr) {
        ERR_clear_error();
        return {};
    }
    return std::string(reinterpret_cast<const char*>(der), len);
}

void fill_chain_keys(const DecodedCert& dc, ChainKeys& keys) {
    keys.der = dc.der;
    keys.subject = name_der(dc.fields.subject);
    keys.issuer = name_der(dc.fields.issuer);
    OctetStringPtr skid(get_ext<ASN1_OCTET_STRING>(dc.fields, NID_subject_key_identifier));
    keys.skid = octets(skid.get());
    AuthorityKeyIdPtr akid(get_ext<AUTHORITY_KEYID>(dc.fields, NID_authority_key_identifier));
    keys.akid = akid ? octets(akid->keyid) : std::string();
    BasicConstraintsPtr bc(get_ext<BASIC_CONSTRAINTS>(dc.fields, NID_basic_constraints));
    keys.is_ca = bc && bc->ca != 0;
}

}  // namespace

CertificateInfo parse_single_certificate(std::string der, bool trusted_aux, const ParseOptions& options,
                                         ChainKeys* keys) {
    ErrorQueueGuard guard;
    if (!trusted_aux && !options.force_full_parse) {
        // The lean path, as parse_der takes it for one certificate.
        CertificateInfo info;
        ChainKeys lean_keys;
        if (fill_lean(der, info, keys != nullptr ? &lean_keys : nullptr)) {
            if (keys != nullptr) *keys = std::move(lean_keys);
            return finish(std::move(info), options);
        }
        ERR_clear_error();
    }
    DecodedCert dc = decode_der(std::move(der), trusted_aux, !options.force_full_parse);
    CertificateInfo info;
    fill_fields(dc, info);
    if (keys != nullptr) fill_chain_keys(dc, *keys);
    return finish(std::move(info), options);
}

ChainKeys certificate_chain_keys(std::string der, bool trusted_aux) {
    ErrorQueueGuard guard;
    if (!trusted_aux) {
        // Whatever the lean path accepts here, parse_single_certificate's
        // lean path accepts too (the same decision on the same bytes).
        CertificateInfo info;
        ChainKeys keys;
        if (fill_lean(der, info, &keys)) return keys;
        ERR_clear_error();
    }
    DecodedCert dc = decode_der(std::move(der), trusted_aux, true);
    // Refuse what parse_single_certificate refuses, so that a bundle's pass 1
    // rejects every item its pass 2 would (found by fuzz_bundle).
    (void)asn1_time_to_epoch(dc.fields.not_before, "notBefore");
    (void)asn1_time_to_epoch(dc.fields.not_after, "notAfter");
    ChainKeys keys;
    fill_chain_keys(dc, keys);
    return keys;
}

bool detail::lean_path_accepts(std::string_view der) {
    ErrorQueueGuard guard;
    return parse_lean(der).has_value();
}

}  // namespace netbox_ssl

#include "core/bundle_reader.hpp"

#include "core/cancel.hpp"
#include "core/encoding.hpp"
#include "core/input.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <type_traits>

namespace netbox_ssl {
namespace {

[[noreturn]] void malformed(const std::string& message, std::string detail = {}) {
    throw Error(ErrorKind::Malformed, message, std::move(detail));
}

// One tag-length-value header. BER indefinite lengths are resolved by
// walking the children to their end-of-contents marker: PKCS#7 files written
// by Windows and by some libraries use them for the envelope.
struct Tlv {
    int tag = 0;
    int cls = 0;
    bool indefinite = false;
    std::size_t content = 0;  // offset of the contents
    std::size_t length = 0;   // contents length (without an end-of-contents marker)
    std::size_t next = 0;     // offset just after the element
    std::size_t end() const { return content + length; }
};

constexpr int kMaxNesting = 32;

const std::string kNoSkid;

bool read_tlv(std::string_view der, std::size_t pos, std::size_t limit, Tlv& t, int depth = 0) {
    if (depth > kMaxNesting || pos >= limit || limit > der.size() || limit - pos > static_cast<std::size_t>(LONG_MAX)) {
        return false;
    }
    const auto* start = reinterpret_cast<const unsigned char*>(der.data()) + pos;
    const unsigned char* p = start;
    long len = 0;
    const int ret = ASN1_get_object(&p, &len, &t.tag, &t.cls, static_cast<long>(limit - pos));
    ERR_clear_error();
    if ((ret & 0x80) != 0) return false;
    t.content = pos + static_cast<std::size_t>(p - start);
    t.indefinite = (ret & 0x01) != 0;
    if (!t.indefinite) {
        t.length = static_cast<std::size_t>(len);
        t.next = t.end();
        return t.next <= limit;
    }
    std::size_t at = t.content;
    for (;;) {
        if (at + 2 > limit) return false;
        if (der[at] == 0 && der[at + 1] == 0) {
            t.length = at - t.content;
            t.next = at + 2;
            return true;
        }
        Tlv child;
        if (!read_tlv(der, at, limit, child, depth + 1)) return false;
        at = child.next;
    }
}

// 1.2.840.113549.1.7.2, id-signedData, as DER contents octets.
constexpr unsigned char kSignedDataOid[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02};

void expect(std::string_view der, std::size_t pos, std::size_t limit, int tag, int cls, Tlv& t, const char* what) {
    if (!read_tlv(der, pos, limit, t) || t.tag != tag || t.cls != cls) {
        malformed(std::string("PKCS#7 bundle has a malformed ") + what);
    }
}

}  // namespace

bool pkcs7_certificate_area(std::string_view der, std::size_t& begin, std::size_t& end) {
    Tlv outer;
    if (!read_tlv(der, 0, der.size(), outer) || outer.tag != V_ASN1_SEQUENCE || outer.cls != V_ASN1_UNIVERSAL) {
        return false;
    }
    Tlv oid;
    if (!read_tlv(der, outer.content, outer.end(), oid) || oid.tag != V_ASN1_OBJECT || oid.cls != V_ASN1_UNIVERSAL) {
        return false;
    }
    // From here on it is a ContentInfo.
    if (outer.next != der.size()) malformed("PKCS#7 bundle is followed by unexpected trailing data");
    if (oid.length != sizeof kSignedDataOid ||
        !std::equal(kSignedDataOid, kSignedDataOid + sizeof kSignedDataOid,
                    reinterpret_cast<const unsigned char*>(der.data()) + oid.content)) {
        malformed("input is a PKCS#7/CMS message but not signedData, so it holds no certificate bundle");
    }
    Tlv explicit0;
    expect(der, oid.next, outer.end(), 0, V_ASN1_CONTEXT_SPECIFIC, explicit0, "content field");
    Tlv signed_data;
    expect(der, explicit0.content, explicit0.end(), V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, signed_data, "SignedData");
    Tlv version;
    expect(der, signed_data.content, signed_data.end(), V_ASN1_INTEGER, V_ASN1_UNIVERSAL, version, "version");
    Tlv digests;
    expect(der, version.next, signed_data.end(), V_ASN1_SET, V_ASN1_UNIVERSAL, digests, "digestAlgorithms");
    Tlv content;
    expect(der, digests.next, signed_data.end(), V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, content, "contentInfo");
    begin = end = content.next;
    if (content.next < signed_data.end()) {
        Tlv certs;
        if (!read_tlv(der, content.next, signed_data.end(), certs)) {
            malformed("PKCS#7 bundle has a malformed certificates field");
        }
        if (certs.cls == V_ASN1_CONTEXT_SPECIFIC && certs.tag == 0) {
            begin = certs.content;
            end = certs.end();
        }
    }
    return true;
}

bool next_pkcs7_certificate(std::string_view der, std::size_t& pos, std::size_t end, std::string_view& cert) {
    if (pos >= end) return false;
    Tlv t;
    if (!read_tlv(der, pos, end, t)) malformed("PKCS#7 bundle has a malformed certificate entry");
    if (t.tag != V_ASN1_SEQUENCE || t.cls != V_ASN1_UNIVERSAL) {
        malformed("PKCS#7 bundle holds a certificate that is not X.509 (an extended or attribute certificate)");
    }
    // An indefinite-length certificate reaches decode_der, which refuses BER.
    cert = der.substr(pos, t.next - pos);
    pos = t.next;
    return true;
}

BundleReader::BundleReader(std::string_view input, bool text, const ParseOptions& options)
    : input_(input), options_(options) {
    if (input.empty()) malformed("input is empty");
    pem_ = text || looks_like_pem(input);
    if (pem_) {
        refuse_pem_private_keys(input);
    } else if (input.find("PuTTY-User-Key-File-") != std::string_view::npos) {
        throw_private_key_found();
    }
}

void BundleReader::restart() {
    pos_ = 0;
    in_pkcs7_ = false;
    pkcs7_buf_.clear();
    pkcs7_ = {};
    ordinality_ = 0;
}

bool BundleReader::next_item(std::string& der, bool& trusted) {
    for (;;) {
        poll_cancel();
        if (in_pkcs7_) {
            std::string_view cert;
            if (next_pkcs7_certificate(pkcs7_, p7_pos_, p7_end_, cert)) {
                der.assign(cert);
                trusted = false;
                return true;
            }
            in_pkcs7_ = false;
            pkcs7_buf_ = std::string();
            pkcs7_ = {};
        }
        if (pem_) {
            PemBlock block{PemKind::Other, {}, {}};
            if (!next_pem_block(input_, pos_, block)) return false;
            if (block.kind == PemKind::Certificate || block.kind == PemKind::TrustedCertificate) {
                der = std::move(block.der);
                trusted = block.kind == PemKind::TrustedCertificate;
                return true;
            }
            if (block.kind == PemKind::Pkcs7) {
                pkcs7_buf_ = std::move(block.der);
                pkcs7_ = pkcs7_buf_;
                if (!pkcs7_certificate_area(pkcs7_, p7_pos_, p7_end_)) {
                    malformed("PEM block " + block.label + " is not a PKCS#7 ContentInfo");
                }
                in_pkcs7_ = true;
            }
            continue;  // other PEM blocks (CRLs, requests, public keys) are skipped
        }
        if (pos_ >= input_.size()) return false;
        // One top-level DER element; an unreadable header takes the rest of
        // the input, which the certificate decoder then refuses.
        Tlv t;
        std::size_t element_end = input_.size();
        if (read_tlv(input_, pos_, input_.size(), t)) element_end = t.next;
        const std::string_view element = input_.substr(pos_, element_end - pos_);
        pos_ = element_end;
        if (pkcs7_certificate_area(element, p7_pos_, p7_end_)) {
            pkcs7_ = element;
            in_pkcs7_ = true;
            continue;
        }
        der.assign(element);
        trusted = false;
        return true;
    }
}

void BundleReader::check_item_size(const std::string& der) const {
    detail::check_input_size(der, options_, "certificate");
}

void BundleReader::rethrow_with_ordinality(const Error& e) const {
    // Key refusals keep the exact message every other input path gives.
    if (e.kind() == ErrorKind::PrivateKey || e.kind() == ErrorKind::Pkcs12) throw e;
    throw Error(e.kind(), "bundle item " + std::to_string(ordinality_) + ": " + e.what(), e.detail(), ordinality_)
        .with_hint(e.hint());
}

void BundleReader::index_issuers() {
    restart();
    issuers_.clear();
    try {
        std::string der;
        bool trusted = false;
        for (;;) {
            ++ordinality_;  // the item being read, for error messages
            if (!next_item(der, trusted)) break;
            check_item_size(der);
            ChainKeys keys = certificate_chain_keys(std::move(der), trusted);
            if (keys.is_ca || keys.subject == keys.issuer) issuers_.push_back(std::move(keys));
        }
    } catch (const Error& e) {
        rethrow_with_ordinality(e);
    }
    count_ = ordinality_ - 1;
    if (count_ == 0) {
        malformed(pem_ ? "input contains no PEM certificate (expected -----BEGIN CERTIFICATE----- or -----BEGIN PKCS7----- blocks)"
                       : "input contains no certificate");
    }
    std::stable_sort(issuers_.begin(), issuers_.end(),
                     [](const ChainKeys& a, const ChainKeys& b) { return a.subject < b.subject; });
    poll_cancel();
    // The same, also by skid: finds the issuers whose skid matches an akid
    // without walking every issuer of that name.
    by_skid_.resize(issuers_.size());
    for (std::size_t i = 0; i < by_skid_.size(); ++i) by_skid_[i] = i;
    std::stable_sort(by_skid_.begin(), by_skid_.end(), [this](std::size_t a, std::size_t b) {
        const ChainKeys& x = issuers_[a];
        const ChainKeys& y = issuers_[b];
        return x.subject != y.subject ? x.subject < y.subject : x.skid < y.skid;
    });
    restart();
}

bool BundleReader::next(CertificateInfo& info) {
    try {
        std::string der;
        bool trusted = false;
        ++ordinality_;
        if (!next_item(der, trusted)) {
            --ordinality_;
            return false;
        }
        check_item_size(der);
        ChainKeys keys;
        info = parse_single_certificate(std::move(der), trusted, options_, &keys);
        info.issuer_chain = chain_for(keys);
        return true;
    } catch (const Error& e) {
        rethrow_with_ordinality(e);
    }
}

// Leaf to root, following issuer name and (when both are present) key
// identifiers, as parse_pem orders a bundle. A self-issued certificate (a
// root) has an empty chain. Each step looks at no more candidates than the
// path is long (1.4 walked every issuer of the name: quadratic on a bundle
// of many CA certificates that share one subject).
std::string BundleReader::chain_for(const ChainKeys& self) const {
    std::string chain;
    if (self.subject == self.issuer) return chain;
    constexpr int kMaxDepth = 16;
    std::vector<const ChainKeys*> path{&self};
    auto seen = [&](const ChainKeys& c) {
        return std::any_of(path.begin(), path.end(), [&](const ChainKeys* p) { return p->der == c.der; });
    };
    const ChainKeys* cur = &self;
    for (int depth = 0; depth < kMaxDepth; ++depth) {
        const ChainKeys* found = nullptr;
        if (cur->akid.empty()) {
            // Every issuer of the name qualifies: the first one not on the path.
            auto it = std::lower_bound(issuers_.begin(), issuers_.end(), cur->issuer,
                                       [](const ChainKeys& a, const std::string& b) { return a.subject < b; });
            for (; it != issuers_.end() && it->subject == cur->issuer; ++it) {
                if (!seen(*it)) {
                    found = &*it;
                    break;
                }
            }
        } else {
            // Issuers without a skid, and those whose skid is the akid: the
            // first (in bundle order) of either that is not on the path.
            std::size_t best = issuers_.size();
            for (const std::string* skid : {&kNoSkid, &cur->akid}) {
                auto it = std::lower_bound(by_skid_.begin(), by_skid_.end(), 0, [&](std::size_t e, int) {
                    const ChainKeys& x = issuers_[e];
                    return x.subject != cur->issuer ? x.subject < cur->issuer : x.skid < *skid;
                });
                for (; it != by_skid_.end(); ++it) {
                    const ChainKeys& x = issuers_[*it];
                    if (x.subject != cur->issuer || x.skid != *skid) break;
                    if (!seen(x)) {
                        best = std::min(best, *it);
                        break;
                    }
                }
            }
            if (best < issuers_.size()) found = &issuers_[best];
        }
        if (found == nullptr) break;
        chain += pem_encode(found->der, "CERTIFICATE");
        path.push_back(found);
        if (found->subject == found->issuer) break;
        cur = found;
    }
    return chain;
}

}  // namespace netbox_ssl

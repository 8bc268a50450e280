// Reading certificate bundles one certificate at a time: PEM streams,
// PKCS#7 / CMS certs-only SignedData (DER or PEM), and concatenated DER.
// Pure C++17, like the rest of src/core/.
#pragma once

#include "core/certificate.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

// Whether `der` is a PKCS#7 / CMS ContentInfo. False when it is not one at
// all (its first element is not an OID), so the caller can try other forms.
// Throws Error(Malformed) for a ContentInfo that is broken, BER-encoded or
// not signedData. On true, [begin, end) of `der` is the content of the
// SignedData's certificates field (empty when the field is absent).
bool pkcs7_certificate_area(std::string_view der, std::size_t& begin, std::size_t& end);

// The next certificate of such an area: its exact DER bytes. False at `end`.
bool next_pkcs7_certificate(std::string_view der, std::size_t& pos, std::size_t end, std::string_view& cert);

// Reads a bundle in two passes over the caller's input, which must outlive
// the reader. Pass 1 (index_issuers) keeps only the certificates that can
// issue others (CA flag set, or self-issued); pass 2 (next) yields every
// certificate with an issuer_chain built from those. Memory therefore grows
// with the bundle's CA certificates, not with its size.
//
// Errors name the item's ordinality ("bundle item 3: ..."); private keys and
// PKCS#12 are refused with the same errors as parse_pem / parse_der.
class BundleReader {
public:
    // `text`: PEM text. Otherwise bytes: PEM text too, or DER (certificates
    // and PKCS#7 ContentInfos, concatenated). Checks for private keys.
    BundleReader(std::string_view input, bool text, const ParseOptions& options);

    // Pass 1. Throws Error(Malformed) when the bundle holds no certificate.
    void index_issuers();
    // Pass 2: the next certificate (issuer_chain filled), false at the end.
    bool next(CertificateInfo& info);

    // Ordinality (1-based) of the certificate `next` returned last.
    int ordinality() const { return ordinality_; }
    // Certificates counted by index_issuers.
    int count() const { return count_; }
    std::size_t issuer_count() const { return issuers_.size(); }

private:
    bool next_item(std::string& der, bool& trusted);
    void restart();
    void check_item_size(const std::string& der) const;
    [[noreturn]] void rethrow_with_ordinality(const Error& e) const;
    std::string chain_for(const ChainKeys& keys) const;

    std::string_view input_;
    bool pem_ = true;
    ParseOptions options_;
    std::size_t pos_ = 0;
    // The PKCS#7 being read: a view of the input (DER) or of pkcs7_buf_
    // (decoded from a PEM block).
    std::string pkcs7_buf_;
    std::string_view pkcs7_;
    std::size_t p7_pos_ = 0;
    std::size_t p7_end_ = 0;
    bool in_pkcs7_ = false;
    int ordinality_ = 0;
    int count_ = 0;
    std::vector<ChainKeys> issuers_;    // sorted by subject encoding (stable)
    std::vector<std::size_t> by_skid_;  // indexes of issuers_ by (subject, skid), stable
};

}  // namespace netbox_ssl

// Certificate requests: fields against the openssl CLI (values noted when
// the fixtures were made with openssl req; see test/fixtures/csr/README.md),
// the same text rules as certificates, and refusal of keys and bad input.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "core/csr.hpp"
#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

std::string corpus(const std::string& relative) { return fixture(relative); }

// "ab12..." (sha256sum) as "AB:12:..."
std::string colon(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i != 0) out += ':';
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
    }
    return out;
}

TEST(Csr, RsaWithSans) {
    const CsrInfo csr = parse_csr_pem(fixture("csr/rsa-san.csr.pem"));
    EXPECT_EQ(csr.subject, "CN=app.example.com,O=netbox_ssl tests,C=DE");
    EXPECT_EQ(csr.common_name, "app.example.com");
    EXPECT_EQ(csr.sans, (std::vector<std::string>{"DNS:app.example.com", "DNS:www.app.example.com", "IP:192.0.2.1"}));
    EXPECT_EQ(csr.algorithm, "rsa");
    EXPECT_EQ(csr.key_size, 2048);
    EXPECT_EQ(csr.spki_sha256, colon("29d5faedaaa64c93d36ea5e1d14aa0af905696803fc778aac3195dca926adc90"));
    EXPECT_EQ(csr.fingerprint_sha256, colon("e33fb7911d68e810dbfc60d4f31b65048804b6d38ce7bc80d4f5cec94c57dee7"));
    EXPECT_EQ(csr.signature_algorithm, "sha256WithRSAEncryption");
    EXPECT_TRUE(csr.signature_valid);
    EXPECT_EQ(csr.pem_content, fixture("csr/rsa-san.csr.pem"));
}

TEST(Csr, SameKeyAndNamesAsTheCertificateIssuedForIt) {
    const CsrInfo csr = parse_csr_pem(fixture("csr/rsa-san.csr.pem"));
    const CertificateInfo cert = parse_pem(fixture("csr/rsa-san.cert.pem"));
    EXPECT_EQ(csr.spki_sha256, cert.spki_sha256);
    EXPECT_EQ(csr.subject, cert.subject);
    EXPECT_EQ(csr.sans, cert.sans);
    EXPECT_EQ(csr.common_name, cert.common_name);
}

TEST(Csr, DerEcdsaWithoutSans) {
    const std::string der = fixture("csr/ec.csr.der");
    const CsrInfo csr = parse_csr_der(der);
    EXPECT_EQ(csr.subject, "CN=ec.example.com");
    EXPECT_TRUE(csr.sans.empty());
    EXPECT_EQ(csr.algorithm, "ecdsa");
    EXPECT_EQ(csr.key_size, 256);
    EXPECT_EQ(csr.spki_sha256, colon("6c78b55264ac35675a652001e683c1d402c8303461e4fc4d9d518a1589125b5b"));
    EXPECT_EQ(csr.fingerprint_sha256, colon("ebe6e7dcd5883b1f0475209f9802493040336164897761ab7393fa18274fe749"));
    EXPECT_EQ(csr.signature_algorithm, "ecdsa-with-SHA256");
    EXPECT_TRUE(csr.signature_valid);
}

TEST(Csr, Ed25519AndTheNewLabel) {
    const CsrInfo a = parse_csr_pem(fixture("csr/ed25519.csr.pem"));
    const CsrInfo b = parse_csr_pem(fixture("csr/new-label.csr.pem"));
    EXPECT_EQ(a.algorithm, "ed25519");
    EXPECT_FALSE(a.key_size.has_value());
    EXPECT_EQ(a.spki_sha256, colon("9769de2927fa4b8ae68d13c186d89c843e6ebea9f4d86d16a0d8cf1681920305"));
    EXPECT_EQ(a.fingerprint_sha256, b.fingerprint_sha256);
    EXPECT_EQ(b.pem_content, fixture("csr/ed25519.csr.pem"));  // canonical label
    EXPECT_TRUE(a.signature_valid);
}

TEST(Csr, CommonNameFallsBackToTheFirstDnsSan) {
    const CsrInfo csr = parse_csr_pem(fixture("csr/no-cn.csr.pem"));
    EXPECT_EQ(csr.subject, "O=No CN Org");
    EXPECT_EQ(csr.common_name, "nocn.example.com");
    EXPECT_EQ(csr.sans, (std::vector<std::string>{"DNS:nocn.example.com", "Email:ops@example.com"}));
    // Same key as ec.csr.der: same spki_sha256, other request.
    EXPECT_EQ(csr.spki_sha256, parse_csr_der(fixture("csr/ec.csr.der")).spki_sha256);
}

TEST(Csr, TamperedSignatureIsReportedNotRefused) {
    const CsrInfo csr = parse_csr_pem(fixture("csr/tampered.csr.pem"));
    EXPECT_FALSE(csr.signature_valid);
    EXPECT_EQ(csr.common_name, "app.example.com");
}

TEST(Csr, CorpusRequests) {
    // index.tsv rows with what=csr: sha256_der and subject CN from the corpus.
    const CsrInfo pem = parse_csr_pem(corpus("csr/corpus/rsa_sha256.pem"));
    const CsrInfo der = parse_csr_der(corpus("csr/corpus/rsa_sha256.der"));
    EXPECT_EQ(pem.fingerprint_sha256, colon("5301aa4ee75eba9f3561983567b531471ee332fe6f000a2fd4395252d3b5335f"));
    EXPECT_EQ(der.fingerprint_sha256, pem.fingerprint_sha256);
    EXPECT_EQ(pem.common_name, "cryptography.io");
    const CsrInfo bc = parse_csr_pem(corpus("csr/corpus/basic_constraints.pem"));
    EXPECT_EQ(bc.fingerprint_sha256, colon("ebe16a548cd8bfa1b253e21e5d6161dad33dd81f3ea519c21deeb46fc445583c"));
    const CsrInfo ipa = parse_csr_pem(corpus("csr/corpus/freeipa-bad-critical.pem"));
    EXPECT_EQ(ipa.common_name, "replica1.ipa.test");
    // Key types as `openssl req -noout -text` prints them.
    for (const auto& [name, algorithm, bits] : std::vector<std::tuple<std::string, std::string, int>>{
             {"challenge.pem", "rsa", 2048}, {"long-form-attribute.pem", "rsa", 2048}, {"bad-version.pem", "ecdsa", 256}}) {
        const CsrInfo c = parse_csr_pem(corpus("csr/corpus/" + name));
        EXPECT_EQ(c.algorithm, algorithm) << name;
        EXPECT_EQ(c.key_size, bits) << name;
    }
}

TEST(Csr, PrivateKeysRefusedExactlyAsForCertificates) {
    const std::string with_key = fixture("csr/rsa-san.csr.pem") + fixture("leaf-with-key.pem");
    const std::string a = expect_error(ErrorKind::PrivateKey, [&] { parse_csr_pem(with_key); }, "pem");
    const std::string b = expect_error(ErrorKind::PrivateKey, [&] { parse_pem(fixture("leaf-with-key.pem")); }, "cert");
    EXPECT_EQ(a, b);
    expect_error(ErrorKind::PrivateKey, [&] { parse_csr_der(fixture("key-only.der")); }, "der key");
    expect_error(ErrorKind::Pkcs12, [&] { parse_csr_der(fixture("leaf-with-key.p12")); }, "p12");
}

TEST(Csr, BadInputIsMalformed) {
    expect_error(ErrorKind::Malformed, [&] { parse_csr_pem(fixture("root.pem")); }, "a certificate");
    expect_error(ErrorKind::Malformed, [&] { parse_csr_der(fixture("cert.der")); }, "der certificate");
    expect_error(ErrorKind::Malformed, [&] { parse_csr_der(""); }, "empty");
    expect_error(ErrorKind::Malformed, [&] { parse_csr_der(fixture("csr/ec.csr.der") + "x"); }, "trailing");
    const std::string two = fixture("csr/ed25519.csr.pem") + fixture("csr/rsa-san.csr.pem");
    expect_error(ErrorKind::Malformed, [&] { parse_csr_pem(two); }, "two requests");
    ParseOptions small;
    small.max_input_bytes = 100;
    expect_error(ErrorKind::TooLarge, [&] { parse_csr_pem(fixture("csr/rsa-san.csr.pem"), small); }, "limit");
}

}  // namespace
}  // namespace netbox_ssl::test

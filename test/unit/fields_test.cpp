// Field formats on the hand-made fixtures, where the expected value is known
// from how test/fixtures/generate.sh built the certificate (and confirmed by
// `openssl x509 -text`). Epoch values were computed with `date -u -d`.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

CertificateInfo parse_fixture(const std::string& name) { return parse_pem(fixture(name)); }

TEST(CommonName, FirstSubjectCn) {
    EXPECT_EQ(parse_fixture("janus-old.pem").common_name, std::optional<std::string>("www.example.com"));
    // Case is preserved: the CN is data, not a normalised host name.
    EXPECT_EQ(parse_fixture("janus-new-upper.pem").common_name, std::optional<std::string>("WWW.Example.COM"));
    EXPECT_EQ(parse_fixture("root.pem").common_name, std::optional<std::string>("netbox_ssl Test Root"));
}

TEST(CommonName, FallsBackToFirstDnsSan) {
    const CertificateInfo info = parse_fixture("no-cn.pem");
    EXPECT_EQ(info.common_name, std::optional<std::string>("nocn.example.com"));
    EXPECT_EQ(info.subject, "O=Example Org");
}

TEST(CommonName, NoneWithoutCnOrDnsSan) {
    // Security Communication RootCA1 has no CN and no SAN at all
    // (`openssl x509 -noout -subject`: OU=Security Communication RootCA1,O=SECOM Trust.net,C=JP).
    const std::string path = "test/fixtures/corpus/mozilla-ca-certificates-removed/Security_Communication_Root_CA.pem";
    const std::string text = read_file(source_path(path));
    if (text.empty()) GTEST_SKIP() << "corpus copy not present";
    const CertificateInfo info = parse_pem(text);
    EXPECT_FALSE(info.common_name.has_value()) << *info.common_name;
    EXPECT_EQ(info.serial_number, "00");
}

TEST(Names, Utf8SubjectKeepsRfc2253EscapingButCnIsUtf8) {
    const CertificateInfo info = parse_fixture("utf8-subject.pem");
    // The DN is CN then O; `openssl x509 -noout -subject -nameopt RFC2253`
    // prints it reversed, UTF-8 bytes escaped, exactly as here.
    EXPECT_EQ(info.subject, "O=B\\C3\\BCcher GmbH,CN=m\\C3\\BCnchen.example");
    EXPECT_EQ(info.common_name, std::optional<std::string>("m\xC3\xBCnchen.example"));
    EXPECT_EQ(info.sans, std::vector<std::string>{"DNS:xn--mnchen-3ya.example"});
}

TEST(Names, Rfc2253OrderIsMostSpecificFirst) {
    // The DN was built as O=..., CN=...; RFC 4514 writes it reversed.
    const CertificateInfo info = parse_fixture("janus-old.pem");
    EXPECT_EQ(info.subject, "CN=www.example.com");
    EXPECT_EQ(info.issuer, "CN=netbox_ssl Test Intermediate,O=netbox_ssl tests");
}

TEST(Sans, MixedTypesInCertificateOrder) {
    const CertificateInfo info = parse_fixture("san-mixed.pem");
    // IPv6 in RFC 5952 form: 2001:db8:0:0:0:0:0:1 -> 2001:db8::1, and for
    // 2001:db8:0:0:1:0:0:1 the first of two equal zero runs is compressed.
    const std::vector<std::string> expected = {
        "DNS:mixed.example.com", "IP:192.0.2.10",           "IP:2001:db8::1",
        "IP:2001:db8::1:0:0:1",  "Email:admin@example.com", "URI:https://example.com/inventory",
    };
    EXPECT_EQ(info.sans, expected);
}

TEST(Sans, DnsNamesKeepCaseAndOrder) {
    EXPECT_EQ(parse_fixture("janus-old.pem").sans,
              (std::vector<std::string>{"DNS:www.example.com", "DNS:example.com"}));
    EXPECT_EQ(parse_fixture("janus-new-upper.pem").sans, std::vector<std::string>{"DNS:WWW.Example.COM"});
    EXPECT_TRUE(parse_fixture("ed25519.pem").sans.empty());
}

TEST(Validity, EpochSeconds) {
    struct Case {
        const char* file;
        std::int64_t from, to;
    };
    for (const Case& c : {
             Case{"janus-old.pem", 1704067200, 3786912000},          // 2024-01-01 .. 2090-01-01 (GeneralizedTime)
             Case{"janus-new.pem", 1735689600, 4102444799},          // 2025-01-01 .. 2099-12-31T23:59:59
             Case{"janus-new-samekey.pem", 1748736000, 3944678400},  // 2025-06-01 .. 2095-01-01
             Case{"janus-new-upper.pem", 1735689600, 4039372800},    // 2025-01-01 .. 2098-01-01
             Case{"expired.pem", 1577836800, 1609459200},            // 2020-01-01 .. 2021-01-01
             Case{"expired-renewal.pem", 1546300800, 1577836800},    // 2019-01-01 .. 2020-01-01
             Case{"pending.pem", 3786912000, 3944678400},            // 2090-01-01 .. 2095-01-01
         }) {
        const CertificateInfo info = parse_fixture(c.file);
        EXPECT_EQ(info.valid_from, c.from) << c.file;
        EXPECT_EQ(info.valid_to, c.to) << c.file;
    }
}

TEST(Serial, ByteAlignedUppercaseColonHex) {
    // generate.sh sets these serials; `openssl x509 -serial` prints 0ABC,
    // C0FFEE (DER 00 C0 FF EE: the sign byte is not part of the number) and 1000.
    EXPECT_EQ(parse_fixture("janus-old.pem").serial_number, "0A:BC");
    EXPECT_EQ(parse_fixture("janus-new.pem").serial_number, "C0:FF:EE");
    EXPECT_EQ(parse_fixture("root.pem").serial_number, "10:00");
    EXPECT_EQ(parse_fixture("v1.pem").serial_number, "40:06");
}

TEST(Fingerprint, Sha256ColonHex) {
    const std::regex colon_hex("([0-9A-F]{2}:){31}[0-9A-F]{2}");
    for (const char* f : {"janus-old.pem", "ed25519.pem", "dsa.pem", "utf8-subject.pem"}) {
        const CertificateInfo info = parse_fixture(f);
        EXPECT_EQ(info.fingerprint_sha256.size(), 95u) << f;
        EXPECT_TRUE(std::regex_match(info.fingerprint_sha256, colon_hex)) << f << ": " << info.fingerprint_sha256;
    }
    // Distinct certificates for the same key and name still differ.
    EXPECT_NE(parse_fixture("janus-old.pem").fingerprint_sha256,
              parse_fixture("janus-new-samekey.pem").fingerprint_sha256);
}

TEST(Keys, SpkiDigestFollowsTheKeyNotTheCertificate) {
    // janus-new-samekey reuses janus-old's key; janus-new has a new key.
    const CertificateInfo old_cert = parse_fixture("janus-old.pem");
    EXPECT_EQ(old_cert.spki_sha256, parse_fixture("janus-new-samekey.pem").spki_sha256);
    EXPECT_NE(old_cert.spki_sha256, parse_fixture("janus-new.pem").spki_sha256);
    EXPECT_FALSE(old_cert.spki_sha256.empty());
}

TEST(Keys, AlgorithmAndSize) {
    struct Case {
        const char* file;
        const char* algorithm;
        std::optional<int> bits;
        const char* signature;  // as `openssl x509 -text` prints it
    };
    for (const Case& c : {
             Case{"janus-old.pem", "rsa", 2048, "sha256WithRSAEncryption"},
             Case{"root.pem", "rsa", 3072, "sha256WithRSAEncryption"},
             Case{"janus-new.pem", "ecdsa", 256, "sha256WithRSAEncryption"},
             Case{"p384.pem", "ecdsa", 384, "ecdsa-with-SHA384"},
             Case{"ed25519.pem", "ed25519", std::nullopt, "ED25519"},
             Case{"ed448.pem", "ed448", std::nullopt, "ED448"},
             Case{"rsa-pss.pem", "rsa", 2048, "rsassaPss"},
             Case{"dsa.pem", "dsa", 2048, "dsa_with_SHA256"},
         }) {
        const CertificateInfo info = parse_fixture(c.file);
        EXPECT_EQ(info.algorithm, c.algorithm) << c.file;
        EXPECT_EQ(info.key_size, c.bits) << c.file;
        EXPECT_EQ(info.signature_algorithm, c.signature) << c.file;
    }
}

TEST(Extensions, V1CertificateHasNone) {
    const CertificateInfo info = parse_fixture("v1.pem");
    EXPECT_FALSE(info.is_ca);
    EXPECT_FALSE(info.subject_key_id.has_value());
    EXPECT_FALSE(info.authority_key_id.has_value());
    EXPECT_TRUE(info.sans.empty());
    EXPECT_EQ(info.common_name, std::optional<std::string>("v1.example.com"));
}

TEST(Extensions, CaFlagAndKeyIdChain) {
    const CertificateInfo root = parse_fixture("root.pem");
    const CertificateInfo intermediate = parse_fixture("intermediate.pem");
    const CertificateInfo leaf = parse_fixture("janus-old.pem");
    EXPECT_TRUE(root.is_ca);
    EXPECT_TRUE(intermediate.is_ca);
    EXPECT_FALSE(leaf.is_ca);
    // generate.sh uses authorityKeyIdentifier=keyid:always, so each AKID is
    // the issuer's SKID (a self-signed root points at itself).
    ASSERT_TRUE(root.subject_key_id && intermediate.subject_key_id && leaf.authority_key_id);
    EXPECT_EQ(root.authority_key_id, root.subject_key_id);
    EXPECT_EQ(intermediate.authority_key_id, root.subject_key_id);
    EXPECT_EQ(leaf.authority_key_id, intermediate.subject_key_id);
    EXPECT_TRUE(std::regex_match(*leaf.authority_key_id, std::regex("([0-9A-F]{2}:)*[0-9A-F]{2}")));
}

TEST(TextHygiene, AllTextFieldsAreValidUtf8WithoutNul) {
    // The adapter hands these to PostgreSQL unchecked (see certificate.hpp).
    auto valid_utf8 = [](const std::string& s) {
        for (std::size_t i = 0; i < s.size();) {
            const unsigned char c = static_cast<unsigned char>(s[i]);
            if (c == 0) return false;
            int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
            if (n < 0 || (n > 0 && i + n >= s.size())) return false;
            for (int k = 1; k <= n; ++k)
                if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
            i += n + 1;
        }
        return true;
    };
    for (const char* f : {"utf8-subject.pem", "san-mixed.pem", "no-cn.pem"}) {
        const CertificateInfo info = parse_fixture(f);
        std::vector<std::string> texts = {info.subject, info.issuer, info.common_name.value_or("")};
        texts.insert(texts.end(), info.sans.begin(), info.sans.end());
        for (const auto& t : texts) EXPECT_TRUE(valid_utf8(t)) << f << ": " << t;
    }
}

}  // namespace
}  // namespace netbox_ssl::test

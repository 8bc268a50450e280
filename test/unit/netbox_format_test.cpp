// The NetBox SSL plugin's formats (core/netbox_format.hpp): the worked
// example of shared/reference/netbox-plugin-behaviour.md section 2 (the real
// Let's Encrypt leaf), and the fixtures of test/fixtures/netbox/ whose
// expected values follow from how generate.sh built them. The same corpus
// is compared with the plugin's formulas run by Python's `cryptography` in
// test/fixtures/netbox/plugin_diff.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/netbox_format.hpp"
#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

NetboxFields nb_fixture(const std::string& name) { return netbox_fields(parse_pem(fixture(name))); }

std::string serial_of(std::initializer_list<unsigned char> bytes, bool negative = false) {
    const std::vector<unsigned char> v(bytes);
    return netbox_serial(v.data(), v.size(), negative);
}

std::string ip_of(std::initializer_list<unsigned char> bytes) {
    const std::vector<unsigned char> v(bytes);
    return python_ip_text(v.data(), v.size());
}

TEST(NetboxFormat, ReferenceLetsEncryptLeaf) {
    const NetboxFields f = nb_fixture("netbox/letsencrypt-leaf.pem");
    EXPECT_EQ(f.common_name, "letsencrypt.org");
    EXPECT_EQ(f.serial_number, "58:08:89:75:B6:AE:A0:09:6E:3C:8C:A4:A8:44:70:0C:4A:0");
    EXPECT_EQ(f.fingerprint_sha256,
              "56:E9:28:42:2F:E3:34:0E:30:48:EE:9C:E3:F4:AD:08:62:42:A1:3C:F8:8A:64:88:31:EF:FD:13:43:77:39:73");
    EXPECT_EQ(f.fingerprint_sha256.size(), 95u);
    EXPECT_EQ(f.issuer, "countryName=US, organizationName=Let's Encrypt, commonName=E7");
    EXPECT_EQ(f.key_size, std::optional<int>(256));
    EXPECT_EQ(f.algorithm, "ecdsa");
    EXPECT_EQ(f.valid_from, 1767808473);  // 2026-01-07 17:54:33 UTC
    EXPECT_EQ(f.valid_to, 1775584472);    // 2026-04-07 17:54:32 UTC
    ASSERT_EQ(f.sans.size(), 10u);
    EXPECT_EQ(f.sans.front(), "DNS:cp.letsencrypt.org");
    EXPECT_EQ(f.sans.back(), "DNS:www.letsencrypt.org");
    // The file is the block as written plus one newline: the plugin's block
    // has no trailing newline.
    const std::string file = fixture("netbox/letsencrypt-leaf.pem");
    EXPECT_EQ(f.pem_content + "\n", file);
    EXPECT_EQ(f.issuer_chain, "");
}

TEST(NetboxFormat, SerialFromTheLeftWithoutZeroPadding) {
    EXPECT_EQ(nb_fixture("netbox/serial-odd.pem").serial_number, "12:3");
    EXPECT_EQ(nb_fixture("netbox/serial-even.pem").serial_number, "12:34");
    EXPECT_EQ(nb_fixture("netbox/serial-zero.pem").serial_number, "0");
    EXPECT_EQ(nb_fixture("netbox/serial-highbit.pem").serial_number, "80");  // DER 00 80
    EXPECT_EQ(nb_fixture("netbox/serial-large.pem").serial_number,
              "7F:ED:CB:A9:87:65:43:21:0F:ED:CB:A9:87:65:43:21:0F:ED:CB:A9");
    EXPECT_EQ(nb_fixture("netbox/serial-negative.pem").serial_number, "-1:23:4");
}

TEST(NetboxFormat, SerialRules) {
    EXPECT_EQ(serial_of({}), "0");
    EXPECT_EQ(serial_of({0x00}), "0");
    EXPECT_EQ(serial_of({0x00, 0x00, 0x01}), "1");
    EXPECT_EQ(serial_of({0x05, 0x80}), "58:0");
    EXPECT_EQ(serial_of({0xAB, 0xCD}), "AB:CD");
    EXPECT_EQ(serial_of({0x05}, true), "-5");
    EXPECT_EQ(serial_of({0x12, 0x34}, true), "-1:23:4");
    EXPECT_EQ(serial_of({0x01, 0x23}, true), "-1:23");
    EXPECT_EQ(serial_of({0x00}, true), "0");
}

TEST(NetboxFormat, IssuerLongNamesInEncodedOrder) {
    const NetboxFields f = nb_fixture("netbox/names-multi.pem");
    EXPECT_EQ(f.issuer,
              "countryName=DE, stateOrProvinceName=Bayern, localityName=M\xC3\xBCnchen, "
              "organizationName=Gr\xC3\xBCne Stra\xC3\x9F" "e GmbH, organizationalUnitName=IT, organizationalUnitName=Ops, "
              "commonName=multi.example, emailAddress=ops@example.com, serialNumber=42, "
              "domainComponent=example, domainComponent=com, streetAddress=Hauptstra\xC3\x9F" "e 1, postalCode=80331, "
              "businessCategory=Private Organization, jurisdictionCountryName=DE, Unknown OID=JS, title=Mr, Smith");
    EXPECT_EQ(f.common_name, "multi.example");
}

TEST(NetboxFormat, OidNames) {
    EXPECT_EQ(cryptography_oid_name("2.5.4.3"), "commonName");
    EXPECT_EQ(cryptography_oid_name("0.9.2342.19200300.100.1.25"), "domainComponent");
    EXPECT_EQ(cryptography_oid_name("1.3.6.1.4.1.311.60.2.1.3"), "jurisdictionCountryName");
    EXPECT_EQ(cryptography_oid_name("2.5.4.43"), "Unknown OID");  // initials: not in cryptography's table
    EXPECT_EQ(cryptography_oid_name("1.2.3.4"), "Unknown OID");
}

TEST(NetboxFormat, CommonNameUnknownWithoutCn) {
    const NetboxFields f = nb_fixture("netbox/no-cn.pem");
    EXPECT_EQ(f.common_name, "Unknown");  // our own column falls back to the DNS SAN instead
    EXPECT_EQ(f.sans, std::vector<std::string>{"DNS:no-cn.example"});
}

TEST(NetboxFormat, EverySanType) {
    const std::vector<std::string> expected = {
        "DNS:sans.example",
        "DNS:*.sans.example",
        "IP:192.0.2.1",
        "IP:2001:db8::1",
        "IP:::ffff:c000:201",
        "IP:1:0:0:1::1",
        "IP:::",
        "IP:fe80::1:0:0:0",
        "Email:admin@sans.example",
        "URI:https://sans.example/x?a=b",
        "<ObjectIdentifier(oid=1.2.3.4, name=Unknown OID)>",
        "<ObjectIdentifier(oid=2.5.4.3, name=commonName)>",
        "<Name(CN=dir name,O=Dir\\, Org,C=US)>",
        "b'\\x0c\\x11user@sans.example'",
    };
    EXPECT_EQ(nb_fixture("netbox/sans-all.pem").sans, expected);
    EXPECT_TRUE(nb_fixture("netbox/serial-odd.pem").sans.empty());
}

TEST(NetboxFormat, PythonIpFormatting) {
    EXPECT_EQ(ip_of({10, 0, 0, 1}), "10.0.0.1");
    EXPECT_EQ(ip_of({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "::");
    EXPECT_EQ(ip_of({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "::1");
    EXPECT_EQ(ip_of({0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "1::");
    // A single zero group is not compressed; on a tie the first run wins.
    EXPECT_EQ(ip_of({0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}), "1:0:1:1:1:1:1:1");
    EXPECT_EQ(ip_of({0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1}), "1::1:0:0:1:1");
    EXPECT_EQ(ip_of({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD}), "2001:db8::abcd");
    EXPECT_EQ(ip_of({1, 2, 3}), "invalid(01:02:03)");
}

TEST(NetboxFormat, BytesRepr) {
    EXPECT_EQ(python_bytes_repr(""), "b''");
    EXPECT_EQ(python_bytes_repr("a'b"), "b\"a'b\"");
    EXPECT_EQ(python_bytes_repr("a'\"b"), "b'a\\'\"b'");
    EXPECT_EQ(python_bytes_repr(std::string("\x00\t\n\r\\\x7f\xff", 7)), "b'\\x00\\t\\n\\r\\\\\\x7f\\xff'");
}

TEST(NetboxFormat, KeyTypes) {
    auto key = [](const std::string& name) {
        const NetboxFields f = nb_fixture(name);
        return f.algorithm + "/" + (f.key_size ? std::to_string(*f.key_size) : "null");
    };
    EXPECT_EQ(key("netbox/key-rsa2048.pem"), "rsa/2048");
    EXPECT_EQ(key("netbox/serial-odd.pem"), "ecdsa/256");
    EXPECT_EQ(key("netbox/key-p384.pem"), "ecdsa/384");
    EXPECT_EQ(key("netbox/key-p521.pem"), "ecdsa/521");
    EXPECT_EQ(key("netbox/key-ed25519.pem"), "ed25519/null");
    EXPECT_EQ(key("netbox/key-ed448.pem"), "unknown/null");  // ssl_parse says ed448
    EXPECT_EQ(key("dsa.pem"), "unknown/null");               // ssl_parse says dsa
    EXPECT_EQ(key("rsa-pss.pem"), "rsa/2048");
}

TEST(NetboxFormat, ChainBlocksJoinedWithoutTrailingNewline) {
    const std::string bundle = fixture("janus-new.pem") + fixture("intermediate.pem") + fixture("root.pem");
    const CertificateInfo info = parse_pem(bundle);
    const NetboxFields f = netbox_fields(info);
    EXPECT_EQ(f.pem_content + "\n", info.pem_content);
    EXPECT_EQ(f.issuer_chain + "\n", info.issuer_chain);
    EXPECT_NE(f.issuer_chain.find("-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----"), std::string::npos);
    EXPECT_NE(f.issuer_chain.back(), '\n');
    EXPECT_EQ(f.fingerprint_sha256, info.fingerprint_sha256);
    EXPECT_EQ(f.valid_from, info.valid_from);
    EXPECT_EQ(f.valid_to, info.valid_to);
}

TEST(NetboxFormat, DerAndPemGiveTheSameFields) {
    const NetboxFields a = netbox_fields(parse_der(fixture("cert.der")));
    const CertificateInfo info = parse_der(fixture("cert.der"));
    const NetboxFields b = netbox_fields(parse_pem(info.pem_content));
    EXPECT_EQ(a.pem_content, b.pem_content);
    EXPECT_EQ(a.serial_number, b.serial_number);
    EXPECT_EQ(a.issuer, b.issuer);
    EXPECT_EQ(a.sans, b.sans);
}

TEST(NetboxFormat, AsciiOnlyEscapesNonAscii) {
    const NetboxFields f = netbox_fields(parse_pem(fixture("netbox/names-multi.pem")), true);
    EXPECT_NE(f.issuer.find("localityName=M\\C3\\BCnchen"), std::string::npos);
}

TEST(NetboxFormat, RefusesAnythingButOneCertificateBlock) {
    expect_error(ErrorKind::Malformed, [] { netbox_fields("", ""); }, "empty");
    expect_error(ErrorKind::Malformed, [] { netbox_fields(fixture("csr/rsa-san.csr.pem"), ""); }, "csr");
    expect_error(ErrorKind::PrivateKey, [] { netbox_fields(fixture("key-only.pem"), ""); }, "key");
}

}  // namespace
}  // namespace netbox_ssl::test

namespace netbox_ssl::test {
namespace {

// Every certificate file under test/fixtures (the hand-made ones, the bad
// ones and the corpus copy): whatever ssl_parse accepts, the plugin formats
// are computed without error (through the fast decoder or its d2i_X509
// fallback) and agree with ssl_parse where the formats coincide.
TEST(NetboxFormat, EveryFixtureThatParses) {
    std::size_t parsed = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(fixture_path(""))) {
        if (!entry.is_regular_file()) continue;
        const std::string ext = entry.path().extension().string();
        if (ext != ".pem" && ext != ".der" && ext != ".crt" && ext != ".cer") continue;
        const std::string bytes = read_file(entry.path().string());
        CertificateInfo info;
        try {
            info = parse_der(bytes);
        } catch (const Error&) {
            continue;
        }
        ++parsed;
        NetboxFields f;
        ASSERT_NO_THROW(f = netbox_fields(info)) << entry.path();
        EXPECT_EQ(f.fingerprint_sha256, info.fingerprint_sha256) << entry.path();
        EXPECT_EQ(f.valid_from, info.valid_from) << entry.path();
        EXPECT_EQ(f.valid_to, info.valid_to) << entry.path();
        EXPECT_EQ(f.pem_content + "\n", info.pem_content) << entry.path();
        // Same digits; ours are zero-padded pairs.
        std::string ours;
        for (char c : info.serial_number) {
            if (c != ':') ours += c;
        }
        std::string theirs;
        for (char c : f.serial_number) {
            if (c != ':') theirs += c;
        }
        const bool negative = !ours.empty() && ours[0] == '-';
        std::string digits = ours.substr(negative ? 1 : 0);
        digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
        if (digits.empty()) digits = "0";
        EXPECT_EQ(theirs, (negative && digits != "0" ? "-" : "") + digits) << entry.path();
        EXPECT_TRUE(f.algorithm == "rsa" || f.algorithm == "ecdsa" || f.algorithm == "ed25519" || f.algorithm == "unknown");
    }
    EXPECT_GT(parsed, 100u);
}

}  // namespace
}  // namespace netbox_ssl::test

// Inputs the core must refuse, and the ErrorKind it must refuse them with.
// Private keys get their own kind and must never be echoed in messages.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

namespace fs = std::filesystem;

std::string pem(const std::string& label, const std::string& body) {
    return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
}

// janus-old's PEM split into its armour lines and base64 lines.
struct LeafParts {
    std::string text = fixture("janus-old.pem");
    std::string begin = "-----BEGIN CERTIFICATE-----\n";
    std::string end = "-----END CERTIFICATE-----\n";
    std::string body() const { return text.substr(begin.size(), text.size() - begin.size() - end.size()); }
};

void expect_malformed_pem(const std::string& input, const std::string& what) {
    expect_error(ErrorKind::Malformed, [&] { parse_pem(input); }, what);
}

void expect_malformed_der(const std::string& input, const std::string& what) {
    expect_error(ErrorKind::Malformed, [&] { parse_der(input); }, what);
}

// ---------------------------------------------------------------------------
// Malformed input

TEST(MalformedInput, EmptyAndWhitespace) {
    expect_malformed_pem("", "empty PEM");
    expect_malformed_der("", "empty DER");
    expect_malformed_pem(" \t\r\n\n  ", "whitespace only");
    expect_malformed_pem("just some text, no armour\n", "text only");
}

TEST(MalformedInput, BinaryJunkAndNulBytes) {
    std::string junk;
    for (int i = 0; i < 512; ++i) junk += static_cast<char>((i * 131 + 7) & 0xFF);
    expect_malformed_pem(junk, "binary junk as PEM");
    expect_malformed_der(junk, "binary junk as DER");
    expect_malformed_pem(std::string(64, '\0'), "NUL bytes");
    expect_malformed_der(std::string(64, '\0'), "NUL bytes as DER");

    LeafParts leaf;
    std::string body = leaf.body();
    body.insert(100, 1, '\0');
    expect_malformed_pem(leaf.begin + body + leaf.end, "NUL inside base64");
}

TEST(MalformedInput, BrokenBase64) {
    LeafParts leaf;
    const std::string body = leaf.body();  // ends "...==\n" or similar

    // Cut in the middle of a base64 quantum: not a whole number of bytes.
    std::string truncated = body.substr(0, body.size() / 2);
    while (truncated.size() % 4 != 2) truncated.pop_back();
    expect_malformed_pem(leaf.begin + truncated + "\n" + leaf.end, "truncated base64");

    // Padding in the middle of the data.
    std::string padded = body;
    padded.replace(40, 2, "==");
    expect_malformed_pem(leaf.begin + padded + leaf.end, "padding inside base64");

    // A character outside the base64 alphabet.
    for (char bad : {'*', '!', '.', '-', '\x80'}) {
        std::string b = body;
        b[70] = bad;
        expect_malformed_pem(leaf.begin + b + leaf.end, std::string("invalid base64 char ") + bad);
    }
}

TEST(MalformedInput, BadPadding) {
    // DER of length 3k+1 ends in "xx==" in base64; damage only the padding.
    LeafParts leaf;
    std::string body = leaf.body();
    auto last = body.find_last_not_of("\n");
    ASSERT_NE(last, std::string::npos);
    std::string extra_pad = body.substr(0, last + 1) + "==\n";  // too much '='
    expect_malformed_pem(leaf.begin + extra_pad + leaf.end, "extra padding");
    expect_malformed_pem(leaf.begin + "MIIB=\n" + leaf.end, "padding after one char");
}

TEST(MalformedInput, BrokenArmour) {
    LeafParts leaf;
    expect_malformed_pem(leaf.begin + leaf.body() + "-----END X509 CRL-----\n", "wrong END label");
    expect_malformed_pem(leaf.begin + leaf.body(), "missing END");
    expect_malformed_pem(leaf.begin + leaf.body().substr(0, 128) + leaf.text, "nested BEGIN");
    expect_malformed_pem(leaf.body(), "base64 without armour");
}

TEST(MalformedInput, BrokenDer) {
    const std::string der = fixture("cert.der");
    ASSERT_GT(der.size(), 100u);
    expect_malformed_der(der + std::string(1, '\0'), "DER with a trailing byte");
    expect_malformed_der(der + "\x30\x00", "DER with a trailing empty SEQUENCE");
    expect_malformed_der(der.substr(0, der.size() - 1), "DER missing its last byte");
    expect_malformed_der(der.substr(0, der.size() / 2), "DER cut in half");
    expect_malformed_der(der.substr(0, der.size() - 10), "DER missing its last 10 bytes");
}

TEST(MalformedInput, PemWithOnlyANonCertificateBlock) {
    expect_malformed_pem(read_file(source_path(
                             "test/fixtures/corpus/malformed/cryptography-vectors/x509__requests__rsa_sha256.pem")),
                         "CERTIFICATE REQUEST only");
    expect_malformed_pem(pem("CERTIFICATE REQUEST", "MIIBADCBqQIBADAA"), "CERTIFICATE REQUEST only (tiny)");
    expect_malformed_pem(pem("PUBLIC KEY", "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="),
                         "PUBLIC KEY only");
}

// Every malformed file copied from the corpus: none holds a certificate
// OpenSSL can parse (see test/fixtures/corpus/README.md).
TEST(MalformedInput, CorpusMalformedFiles) {
    const fs::path dir = source_path("test/fixtures/corpus/malformed");
    ASSERT_TRUE(fs::is_directory(dir));
    int n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string bytes = read_file(entry.path().string());
        const std::string name = entry.path().lexically_relative(dir).string();
        if (entry.path().extension() == ".der")
            expect_malformed_der(bytes, name);
        else
            expect_malformed_pem(bytes, name);
        ++n;
    }
    EXPECT_GE(n, 15);
}

// ---------------------------------------------------------------------------
// Private keys

// Every 16-character window of a key's base64 body: none may appear in an
// error message (a message must never leak key material).
void expect_no_key_material(const std::string& message, const std::string& key_text, const std::string& what) {
    std::string b64;
    bool in_block = false;
    std::istringstream lines(key_text);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find("-----BEGIN") != std::string::npos) {
            in_block = true;
            continue;
        }
        if (line.find("-----END") != std::string::npos) {
            in_block = false;
            continue;
        }
        if (in_block && line.find(':') == std::string::npos) b64 += line;  // skip Proc-Type etc.
    }
    for (std::size_t i = 0; i + 16 <= b64.size(); ++i)
        if (message.find(b64.substr(i, 16)) != std::string::npos) {
            ADD_FAILURE() << what << ": error message contains key material: " << b64.substr(i, 16);
            return;
        }
}

void expect_private_key_pem(const std::string& input, const std::string& what) {
    const std::string msg = expect_error(ErrorKind::PrivateKey, [&] { parse_pem(input); }, what);
    expect_no_key_material(msg, input, what);
    const std::string msg_der = expect_error(ErrorKind::PrivateKey, [&] { parse_der(input); }, what + " (parse_der)");
    expect_no_key_material(msg_der, input, what);
}

TEST(PrivateKey, EveryPrivateKeyLabelInAnyCase) {
    // The body is a real (throwaway) key; the label alone must be enough.
    const std::string key = fixture("key-only.pem");
    const std::string body = key.substr(key.find('\n') + 1, key.find("-----END") - key.find('\n') - 1);
    for (const std::string label : {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY",
                                    "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "ANY PRIVATE KEY"}) {
        expect_private_key_pem(pem(label, body), label);
        std::string lower;
        for (char c : label) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        expect_private_key_pem(pem(lower, body), lower);
        std::string mixed = label;
        for (std::size_t i = 0; i < mixed.size(); i += 2)
            mixed[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(mixed[i])));
        expect_private_key_pem(pem(mixed, body), mixed);
    }
    expect_private_key_pem("-----begin private key-----\n" + body + "-----end private key-----\n",
                           "lowercase armour");
}

TEST(PrivateKey, KeyNextToCertificates) {
    const std::string leaf = fixture("janus-old.pem");
    const std::string key = fixture("key-only.pem");
    expect_private_key_pem(fixture("leaf-with-key.pem"), "leaf-with-key.pem");
    expect_private_key_pem(key + leaf, "key before certificate");
    expect_private_key_pem(leaf + "\n" + key + fixture("intermediate.pem"), "key inside a bundle");
    expect_private_key_pem(key, "key-only.pem");
}

TEST(PrivateKey, KeyWithBrokenBase64IsStillAKey) {
    // Refused for what it claims to be, before any decoding.
    expect_private_key_pem(pem("RSA PRIVATE KEY", "this is !!! not base64"), "garbage key body");
    expect_private_key_pem(fixture("janus-old.pem") + "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n",
                           "unterminated key block");
}

TEST(PrivateKey, DerKeyGivenToParseDer) {
    const std::string der_key = fixture("key-only.der");
    const std::string msg = expect_error(ErrorKind::PrivateKey, [&] { parse_der(der_key); }, "key-only.der");
    // The same key's PEM body covers the DER bytes' base64 form.
    expect_no_key_material(msg, fixture("key-only.pem"), "key-only.der");
    for (std::size_t i = 0; i + 16 <= der_key.size(); i += 4)
        EXPECT_EQ(msg.find(der_key.substr(i, 16)), std::string::npos) << "raw key bytes in message";
}

TEST(PrivateKey, CorpusKeys) {
    const fs::path dir = source_path("test/fixtures/corpus/keys");
    ASSERT_TRUE(fs::is_directory(dir));
    int n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string bytes = read_file(entry.path().string());
        const std::string name = entry.path().lexically_relative(dir).string();
        ++n;
        if (entry.path().extension() != ".der") {
            expect_private_key_pem(bytes, name);
            continue;
        }
        if (name.find("enc") != std::string::npos && name.find("unenc") == std::string::npos) {
            // Encrypted PKCS#8 DER is an opaque blob (an algorithm identifier
            // and an OCTET STRING); it must be refused, as a key or as junk.
            try {
                parse_der(bytes);
                ADD_FAILURE() << name << ": encrypted key accepted as a certificate";
            } catch (const Error& e) {
                EXPECT_TRUE(e.kind() == ErrorKind::PrivateKey || e.kind() == ErrorKind::Malformed)
                    << name << ": " << kind_name(e.kind());
            }
            continue;
        }
        expect_error(ErrorKind::PrivateKey, [&] { parse_der(bytes); }, name);
    }
    EXPECT_GE(n, 10);
}

// ---------------------------------------------------------------------------
// PKCS#12 and size limits

TEST(Pkcs12, ArchiveIsRefused) {
    // leaf-with-key.p12: `openssl pkcs12 -export` of leaf-with-key.pem.
    expect_error(ErrorKind::Pkcs12, [&] { parse_der(fixture("leaf-with-key.p12")); }, "leaf-with-key.p12");
}

TEST(TooLarge, LimitIsInclusiveAndCheckedFirst) {
    const std::string leaf = fixture("janus-old.pem");
    const std::string der = fixture("cert.der");
    ParseOptions exact;
    exact.max_input_bytes = leaf.size();
    EXPECT_NO_THROW(parse_pem(leaf, exact));
    ParseOptions smaller;
    smaller.max_input_bytes = leaf.size() - 1;
    expect_error(ErrorKind::TooLarge, [&] { parse_pem(leaf, smaller); }, "PEM one byte over");
    smaller.max_input_bytes = der.size() - 1;
    expect_error(ErrorKind::TooLarge, [&] { parse_der(der, smaller); }, "DER one byte over");

    // Checked before decoding: oversized junk or keys are TooLarge, not
    // Malformed / PrivateKey.
    ParseOptions tiny;
    tiny.max_input_bytes = 16;
    expect_error(ErrorKind::TooLarge, [&] { parse_pem(std::string(17, '\x01'), tiny); }, "junk over limit");
    expect_error(ErrorKind::TooLarge, [&] { parse_pem(fixture("key-only.pem"), tiny); }, "key over limit");
}

TEST(TooLarge, DefaultLimitIsOneMebibyteAndZeroMeansUnlimited) {
    const std::string leaf = fixture("janus-old.pem");
    std::string padded = leaf + std::string(1024 * 1024 - leaf.size(), '\n');
    ASSERT_EQ(padded.size(), 1024u * 1024u);
    EXPECT_NO_THROW(parse_pem(padded));
    padded += "\n";
    expect_error(ErrorKind::TooLarge, [&] { parse_pem(padded); }, "1 MiB + 1 byte");

    ParseOptions unlimited;
    unlimited.max_input_bytes = 0;
    EXPECT_NO_THROW(parse_pem(std::string(3 * 1024 * 1024, ' ') + leaf, unlimited));
}

}  // namespace
}  // namespace netbox_ssl::test

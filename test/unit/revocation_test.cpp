// CRL and OCSP parsing and verification (src/core/crl.*, src/core/ocsp.*):
// the committed fixtures of test/fixtures/revocation (openssl ca / ocsp) and
// CRLs generated here with the OpenSSL API.
#include "core/cancel.hpp"
#include "core/crl.hpp"
#include "core/ocsp.hpp"
#include "core/openssl_ptr.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

using namespace netbox_ssl;
using netbox_ssl::test::read_file;
using netbox_ssl::test::source_path;

namespace {

std::string rev_fixture(const std::string& name) { return read_file(source_path("test/fixtures/revocation/" + name)); }

std::string pem_cert_der(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    unsigned char* der = nullptr;
    const int len = i2d_X509(x, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

// A CRL of `n` entries signed by a fresh EC key (issuer CN=Generated).
std::string generated_crl(int n, long reason = -1) {
    Owned<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
    Owned<X509_CRL, X509_CRL_free> crl(X509_CRL_new());
    X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
    Owned<X509_NAME, X509_NAME_free> name(X509_NAME_new());
    X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Generated"), -1,
                               -1, 0);
    X509_CRL_set_issuer_name(crl.get(), name.get());
    Owned<ASN1_TIME, ASN1_TIME_free> t(ASN1_TIME_set(nullptr, 1735689600));  // 2025-01-01
    X509_CRL_set1_lastUpdate(crl.get(), t.get());
    for (int i = 1; i <= n; ++i) {
        X509_REVOKED* r = X509_REVOKED_new();
        Owned<ASN1_INTEGER, ASN1_INTEGER_free> serial(ASN1_INTEGER_new());
        ASN1_INTEGER_set(serial.get(), i);
        X509_REVOKED_set_serialNumber(r, serial.get());
        X509_REVOKED_set_revocationDate(r, t.get());
        if (reason >= 0) {
            Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free> e(ASN1_ENUMERATED_new());
            ASN1_ENUMERATED_set(e.get(), reason);
            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e.get(), 0, 0);
        }
        X509_CRL_add0_revoked(crl.get(), r);
    }
    X509_CRL_sign(crl.get(), key.get(), EVP_sha256());
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

bool always_cancel() noexcept { return true; }

}  // namespace

TEST(Crl, ParsesFixtureFields) {
    const std::vector<CrlInfo> crls = parse_crl_pem(rev_fixture("crl2.pem"));
    ASSERT_EQ(crls.size(), 1u);
    const CrlInfo& c = crls[0];
    EXPECT_EQ(c.issuer, "O=netbox_ssl tests,CN=Revocation Test CA");
    EXPECT_EQ(c.crl_number.value_or(""), "2");
    EXPECT_EQ(c.this_update, 1748736000);  // 2025-06-01
    ASSERT_TRUE(c.next_update.has_value());
    EXPECT_EQ(*c.next_update, 4070908800);  // 2099-01-01
    ASSERT_TRUE(c.authority_key_id.has_value());
    EXPECT_EQ(c.issuer_hash.size(), 95u);
    ASSERT_EQ(c.entries.size(), 2u);
    EXPECT_EQ(c.entries[0].serial, "10:01");
    EXPECT_EQ(c.entries[0].reason.value_or(""), "keyCompromise");
    EXPECT_EQ(c.entries[1].serial, "10:02");
    EXPECT_EQ(c.entries[1].reason.value_or(""), "superseded");
    // DER input gives the same CRL, byte for byte.
    const std::vector<CrlInfo> der = parse_crl_der(rev_fixture("crl2.der"));
    ASSERT_EQ(der.size(), 1u);
    EXPECT_EQ(der[0].der, c.der);
}

TEST(Crl, SeveralPemBlocks) {
    EXPECT_EQ(parse_crl_pem(rev_fixture("crl1.pem") + "text between\n" + rev_fixture("crl2.pem")).size(), 2u);
}

TEST(Crl, VerifiesAgainstTheIssuerOnly) {
    const std::string der = rev_fixture("crl2.der");
    EXPECT_TRUE(crl_signature_valid(der, pem_cert_der(rev_fixture("ca.pem"))));
    EXPECT_FALSE(crl_signature_valid(der, pem_cert_der(rev_fixture("other-ca.pem"))));
    const std::string bad = rev_fixture("crl-badsig.der");
    EXPECT_FALSE(crl_signature_valid(bad, pem_cert_der(rev_fixture("ca.pem"))));
}

TEST(Crl, BadInput) {
    EXPECT_THROW(parse_crl_pem("nothing here"), Error);
    try {
        parse_crl_der(std::string("\x30\x03\x02\x01\x01", 5));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Malformed);
    }
    try {
        parse_crl_pem(read_file(source_path("test/fixtures/key-only.pem")));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::PrivateKey);
    }
    ParseOptions small;
    small.max_input_bytes = 64;
    try {
        parse_crl_pem(rev_fixture("crl1.pem"), small);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::TooLarge);
    }
    // Trailing bytes after a DER CRL.
    EXPECT_THROW(parse_crl_der(rev_fixture("crl2.der") + "x"), Error);
}

TEST(Crl, GeneratedLargeCrlAndReasons) {
    const std::string der = generated_crl(20000, 1);
    const std::vector<CrlInfo> crls = parse_crl_der(der, ParseOptions{0, false, false});
    ASSERT_EQ(crls.size(), 1u);
    EXPECT_EQ(crls[0].entries.size(), 20000u);
    EXPECT_EQ(crls[0].entries[0].reason.value_or(""), "keyCompromise");
    EXPECT_FALSE(crls[0].crl_number.has_value());
    EXPECT_FALSE(crls[0].next_update.has_value());
    EXPECT_EQ(crl_reason_name(6), "certificateHold");
    EXPECT_EQ(crl_reason_name(7), "unknown(7)");
}

TEST(Crl, CancelledWhileReadingEntries) {
    const std::string der = generated_crl(10000);
    const CancelHook previous = set_cancel_hook(&always_cancel);
    EXPECT_THROW(parse_crl_der(der, ParseOptions{0, false, false}), Cancelled);
    set_cancel_hook(previous);
}

TEST(Ocsp, ParsesStatuses) {
    const OcspInfo good = parse_ocsp_response(rev_fixture("ocsp-good.der"));
    EXPECT_EQ(good.response_status, "successful");
    ASSERT_EQ(good.responses.size(), 1u);
    EXPECT_EQ(good.responses[0].status, "good");
    EXPECT_EQ(good.responses[0].serial, "10:03");
    EXPECT_EQ(good.responses[0].hash_algorithm, "SHA1");
    const OcspInfo revoked = parse_ocsp_response(rev_fixture("ocsp-revoked.der"));
    EXPECT_EQ(revoked.responses[0].status, "revoked");
    EXPECT_EQ(revoked.responses[0].reason.value_or(""), "superseded");
    EXPECT_TRUE(revoked.responses[0].revoked_at.has_value());
    EXPECT_EQ(parse_ocsp_response(rev_fixture("ocsp-unknown.der")).responses[0].status, "unknown");
    EXPECT_EQ(parse_ocsp_response(std::string("\x30\x03\x0a\x01\x03", 5)).response_status, "tryLater");
}

TEST(Ocsp, VerifiesResponderAuthority) {
    const std::string ca = pem_cert_der(rev_fixture("ca.pem"));
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    const OcspVerification direct = verify_ocsp_response(rev_fixture("ocsp-good.der"), ca, now);
    EXPECT_TRUE(direct.ok) << direct.failure;
    EXPECT_EQ(direct.responder, "issuer");
    const OcspVerification delegated = verify_ocsp_response(rev_fixture("ocsp-revoked.der"), ca, now);
    EXPECT_TRUE(delegated.ok) << delegated.failure;
    EXPECT_EQ(delegated.responder, "delegated responder");
    EXPECT_FALSE(verify_ocsp_response(rev_fixture("ocsp-noeku.der"), ca, now).ok);
    EXPECT_FALSE(verify_ocsp_response(rev_fixture("ocsp-other.der"), ca, now).ok);
    // The CertID names the CA, not the other CA.
    const OcspSingle single = parse_ocsp_response(rev_fixture("ocsp-good.der")).responses[0];
    EXPECT_TRUE(ocsp_single_matches_issuer(single, ca));
    EXPECT_FALSE(ocsp_single_matches_issuer(single, pem_cert_der(rev_fixture("other-ca.pem"))));
}

TEST(Ocsp, BadInput) {
    EXPECT_THROW(parse_ocsp_response(""), Error);
    EXPECT_THROW(parse_ocsp_response(std::string("\x30\x03", 2)), Error);
    EXPECT_THROW(parse_ocsp_response(rev_fixture("ocsp-good.der") + "x"), Error);
    EXPECT_THROW(parse_ocsp_response(rev_fixture("crl2.der")), Error);
}

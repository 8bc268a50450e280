// OCSP response parsing and verification (ocsp.hpp).
#include "core/ocsp.hpp"

#include "core/crl.hpp"
#include "core/encoding.hpp"
#include "core/input.hpp"
#include "core/openssl_ptr.hpp"
#include "core/x509_text.hpp"

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>


namespace netbox_ssl {

namespace {

using detail::ErrorQueueGuard;
using detail::malformed;
using detail::take_openssl_reason;
using ResponsePtr = Owned<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using BasicPtr = Owned<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using X509Ptr = Owned<X509, X509_free>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
void free_x509_stack(STACK_OF(X509)* s) { sk_X509_free(s); }  // a macro: cannot be a deleter itself
using StackPtr = Owned<STACK_OF(X509), free_x509_stack>;

std::int64_t ocsp_time(const ASN1_GENERALIZEDTIME* t, const char* which) {
    return detail::asn1_time_seconds(t, std::string("OCSP response has an invalid ") + which + " time");
}

std::string response_status_name(int status) {
    switch (status) {
    case OCSP_RESPONSE_STATUS_SUCCESSFUL: return "successful";
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST: return "malformedRequest";
    case OCSP_RESPONSE_STATUS_INTERNALERROR: return "internalError";
    case OCSP_RESPONSE_STATUS_TRYLATER: return "tryLater";
    case OCSP_RESPONSE_STATUS_SIGREQUIRED: return "sigRequired";
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED: return "unauthorized";
    default: return "unknown(" + std::to_string(status) + ")";
    }
}

ResponsePtr decode_response(std::string_view der) {
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* p = begin;
    ResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    if (!resp) malformed("input is not a valid OCSP response", take_openssl_reason());
    if (p != begin + der.size()) malformed("input has bytes after the OCSP response");
    return resp;
}

X509Ptr decode_certificate(std::string_view der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) malformed("issuer certificate does not decode", take_openssl_reason());
    return cert;
}

std::string digest_hex(const EVP_MD* md, const unsigned char* data, std::size_t len) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    if (EVP_Digest(data, len, out, &out_len, md, nullptr) != 1) {
        throw Error(ErrorKind::Internal, "digest computation failed", take_openssl_reason());
    }
    return colon_hex(out, out_len);
}

}  // namespace

OcspInfo parse_ocsp_response(std::string_view der, const ParseOptions& options) {
    detail::check_input_size(der, options, "OCSP response");
    ErrorQueueGuard guard;
    if (der.empty()) malformed("input is empty");
    ResponsePtr resp = decode_response(der);
    OcspInfo info;
    const int status = OCSP_response_status(resp.get());
    info.response_status = response_status_name(status);
    if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) return info;
    BasicPtr basic(OCSP_response_get1_basic(resp.get()));
    if (!basic) malformed("OCSP response is not a basic OCSP response", take_openssl_reason());
    info.produced_at = ocsp_time(OCSP_resp_get0_produced_at(basic.get()), "producedAt");
    const int n = OCSP_resp_count(basic.get());
    if (n <= 0) malformed("OCSP response has no single response");
    for (int i = 0; i < n; ++i) {
        OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), i);
        OcspSingle out;
        ASN1_OCTET_STRING* name_hash = nullptr;
        ASN1_OBJECT* md_oid = nullptr;
        ASN1_OCTET_STRING* key_hash = nullptr;
        ASN1_INTEGER* serial = nullptr;
        const OCSP_CERTID* id = OCSP_SINGLERESP_get0_id(single);
        if (id == nullptr ||
            OCSP_id_get0_info(&name_hash, &md_oid, &key_hash, &serial, const_cast<OCSP_CERTID*>(id)) != 1) {
            malformed("OCSP response has an invalid certificate id", take_openssl_reason());
        }
        const int md_nid = OBJ_obj2nid(md_oid);
        out.hash_algorithm = md_nid == NID_undef ? detail::oid_text(md_oid, true) : OBJ_nid2sn(md_nid);
        out.issuer_name_hash =
            colon_hex(ASN1_STRING_get0_data(name_hash), static_cast<std::size_t>(ASN1_STRING_length(name_hash)));
        out.issuer_key_hash =
            colon_hex(ASN1_STRING_get0_data(key_hash), static_cast<std::size_t>(ASN1_STRING_length(key_hash)));
        out.serial = detail::serial_text(serial);
        int reason = -1;
        ASN1_GENERALIZEDTIME* revtime = nullptr;
        ASN1_GENERALIZEDTIME* thisupd = nullptr;
        ASN1_GENERALIZEDTIME* nextupd = nullptr;
        const int cert_status = OCSP_single_get0_status(single, &reason, &revtime, &thisupd, &nextupd);
        switch (cert_status) {
        case V_OCSP_CERTSTATUS_GOOD: out.status = "good"; break;
        case V_OCSP_CERTSTATUS_REVOKED: out.status = "revoked"; break;
        case V_OCSP_CERTSTATUS_UNKNOWN: out.status = "unknown"; break;
        default: malformed("OCSP response has an invalid certificate status", take_openssl_reason());
        }
        if (cert_status == V_OCSP_CERTSTATUS_REVOKED) {
            out.revoked_at = ocsp_time(revtime, "revocationTime");
            if (reason >= 0) out.reason = crl_reason_name(reason);
        }
        out.this_update = ocsp_time(thisupd, "thisUpdate");
        if (nextupd != nullptr) out.next_update = ocsp_time(nextupd, "nextUpdate");
        info.responses.push_back(std::move(out));
    }
    return info;
}

bool ocsp_single_matches_issuer(const OcspSingle& single, std::string_view issuer_der) {
    ErrorQueueGuard guard;
    X509Ptr issuer = decode_certificate(issuer_der);
    const EVP_MD* md = EVP_get_digestbyname(single.hash_algorithm.c_str());
    if (md == nullptr) return false;
    const unsigned char* name_der = nullptr;
    std::size_t name_len = 0;
    if (X509_NAME_get0_der(X509_get_subject_name(issuer.get()), &name_der, &name_len) != 1) return false;
    const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(issuer.get());
    if (key == nullptr) return false;
    return digest_hex(md, name_der, name_len) == single.issuer_name_hash &&
           digest_hex(md, ASN1_STRING_get0_data(key), static_cast<std::size_t>(ASN1_STRING_length(key))) ==
               single.issuer_key_hash;
}

OcspVerification verify_ocsp_response(std::string_view response_der, std::string_view issuer_der, std::int64_t at) {
    ErrorQueueGuard guard;
    ResponsePtr resp = decode_response(response_der);
    if (OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        return {false, "the OCSP response is not successful", {}};
    }
    BasicPtr basic(OCSP_response_get1_basic(resp.get()));
    if (!basic) malformed("OCSP response is not a basic OCSP response", take_openssl_reason());
    X509Ptr issuer = decode_certificate(issuer_der);

    StackPtr certs(sk_X509_new_null());
    if (!certs || sk_X509_push(certs.get(), issuer.get()) <= 0) {
        throw Error(ErrorKind::Internal, "cannot build a certificate stack", take_openssl_reason());
    }
    // Which certificate signed it: the issuer itself, or one of the
    // certificates carried in the response (a delegated responder).
    X509* signer = nullptr;
    if (OCSP_resp_get0_signer(basic.get(), &signer, certs.get()) != 1 || signer == nullptr) {
        ERR_clear_error();
        return {false, "the OCSP response's signer is neither the issuer nor a certificate included in the response",
                {}};
    }
    const bool signed_by_issuer = X509_cmp(signer, issuer.get()) == 0;

    // The issuer is the only trust anchor (a partial chain: it need not be
    // a root), checked at `at`. OCSP_basic_verify then verifies the
    // signature, the delegated responder's chain up to the issuer, and
    // (ocsp_check_issuer) that a delegated responder is issued by the
    // CertID's issuer and carries id-kp-OCSPSigning, as RFC 6960 4.2.2.2
    // requires.
    StorePtr store(X509_STORE_new());
    if (!store || X509_STORE_add_cert(store.get(), issuer.get()) != 1) {
        throw Error(ErrorKind::Internal, "cannot build a certificate store", take_openssl_reason());
    }
    X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_USE_CHECK_TIME);
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at));
    const int rc = OCSP_basic_verify(basic.get(), certs.get(), store.get(), 0);
    if (rc != 1) {
        ERR_clear_error();
        if (signed_by_issuer) {
            return {false, "the OCSP response's signature does not verify with the issuer's key", {}};
        }
        return {false,
                "the OCSP response is signed by a responder the issuer did not authorise (it must be issued by the "
                "issuer, carry id-kp-OCSPSigning and be valid at the time)",
                {}};
    }
    return {true, {}, signed_by_issuer ? "issuer" : "delegated responder"};
}

}  // namespace netbox_ssl

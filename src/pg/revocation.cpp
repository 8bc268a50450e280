// Placeholder until part R of 1.6 (revocation) lands: a source that knows of
// no revocation data, so every lookup answers NoData. Replaced wholesale by
// the CRL/OCSP implementation; nothing may ship with this file as it is.
#include "pg/revocation.hpp"

namespace {

class NoRevocationData final : public netbox_ssl::RevocationSource {
public:
    netbox_ssl::RevocationAnswer lookup(const std::string& /*issuer_fingerprint*/, const std::string& /*serial*/,
                                        std::int64_t /*at*/) const override {
        return {};
    }
};

}  // namespace

std::unique_ptr<netbox_ssl::RevocationSource> stored_revocation_source() {
    return std::make_unique<NoRevocationData>();
}

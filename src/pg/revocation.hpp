// The stored revocation data (CRLs in ssl_crl, OCSP answers on
// ssl_certificate) as the chain validator's RevocationSource (issue "Trust",
// docs/revocation.md). Implemented in revocation.cpp.
#pragma once

#include "core/chain.hpp"

#include <memory>

// A source whose lookups read the stored data through kept SPI plans. Its
// lookups run inside run_core (C++ frames alive), so a PostgreSQL error in
// them is caught where it happens and rethrown as a core Error; the caller
// reports it with raise_core_error once the C++ frames are gone.
std::unique_ptr<netbox_ssl::RevocationSource> stored_revocation_source();

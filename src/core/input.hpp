// Certificate input handling shared by every parser (certificates, CSRs,
// bundles): the size check, sniffing binary input, and refusing private keys
// that arrive where a certificate was expected. PostgreSQL-free.
#pragma once

#include "core/certificate.hpp"

#include <string>
#include <string_view>

namespace netbox_ssl::detail {

// Error(TooLarge) "<what> is too large" (sizes in the detail) when `input`
// exceeds options.max_input_bytes (0: no limit). Checked before any decoding.
void check_input_size(std::string_view input, const ParseOptions& options, const char* what = "input");

// The shape of binary (bytea) input: refuses empty input and PuTTY key
// files (which have no PEM armour), then says whether the bytes are PEM text
// to be parsed as such.
bool binary_input_is_pem(std::string_view bytes);

// Whether `der` is private key material (or a PKCS#12 archive, which holds
// keys): throws the key refusal if so. Call it after `der` failed to parse
// as what was expected.
void refuse_if_key(const std::string& der);

// The outermost SEQUENCE must have DER's definite, minimal length.
void require_der_outer(const std::string& der);

}  // namespace netbox_ssl::detail

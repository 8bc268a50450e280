// Text and distinguished-name rules of the NetBox SSL plugin's formats
// (netbox_format.cpp): string decoding as Python and `cryptography` do it,
// the plugin's and RFC 4514's name forms, OID names. PostgreSQL-free.
#pragma once

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace netbox_ssl::netbox_text {

// One DER tag-length-value element (short tags only).
struct Tlv {
    unsigned char tag = 0;
    std::string_view content;
    std::string_view whole;
};

// Reads the next element of `in` and advances it; false when malformed.
bool read_tlv(std::string_view& in, Tlv& out);

// Thrown by san_text where cryptography raises ValueError for one name: the
// plugin then keeps no SANs at all.
struct SanUnreadable {};

bool is_ascii(std::string_view s);

// Bytes as Python decodes them for the plugin (UTF-8, else a bytes repr).
std::string plugin_text(std::string_view bytes);

// "\XX" for every non-ASCII byte (databases that cannot hold UTF-8).
std::string ascii_escape(const std::string& text);

std::string raw_bytes(const ASN1_STRING* s);

// An OID in dotted form.
std::string dotted(const ASN1_OBJECT* obj);

// Python's ipaddress text of a 4- or 16-byte address, or nullopt.
std::optional<std::string> python_network_text(const unsigned char* data, std::size_t len);

// Whether cryptography can decode every attribute value of the name.
bool cryptography_can_decode(const X509_NAME* name);

// The plugin's name form, cryptography's RFC 4514 form, the first CN.
std::string plugin_name(const X509_NAME* name);
std::string rfc4514_name(const X509_NAME* name);
std::string common_name(const X509_NAME* subject);

}  // namespace netbox_ssl::netbox_text

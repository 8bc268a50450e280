#include "core/encoding.hpp"

#include "core/cancel.hpp"
#include "core/certificate.hpp"

#include <array>

namespace netbox_ssl {
namespace {

constexpr std::string_view kBegin = "-----BEGIN";
constexpr std::string_view kEnd = "-----END";
constexpr std::string_view kDashes = "-----";
constexpr char kHexDigits[] = "0123456789ABCDEF";

// ASCII only: PEM armour is ASCII, and the C library's toupper follows the
// server's locale (in a Turkish locale 'i' does not become 'I').
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_letter(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
char upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

bool equal_ci(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (upper(a[i]) != upper(b[i])) return false;
    }
    return true;
}

// First position >= from where needle occurs, ignoring ASCII letter case.
// Candidates are found with memchr-based find() on the needle's first
// character that is not a letter (the dashes of the armour), so the base64
// between armour lines is skipped quickly.
std::size_t find_ci(std::string_view haystack, std::string_view needle, std::size_t from) {
    const std::size_t n = needle.size();
    if (n == 0 || n > haystack.size()) return std::string_view::npos;
    std::size_t anchor = 0;
    while (anchor < n && is_letter(needle[anchor])) ++anchor;
    ScanPoll poll(from);
    if (anchor == n) {
        for (std::size_t i = from; i + n <= haystack.size(); ++i) {
            poll.tick(i);
            if (equal_ci(haystack.substr(i, n), needle)) return i;
        }
        return std::string_view::npos;
    }
    for (std::size_t at = haystack.find(needle[anchor], from + anchor); at != std::string_view::npos;
         at = haystack.find(needle[anchor], at + 1)) {
        poll.tick(at);
        const std::size_t start = at - anchor;
        if (start + n > haystack.size()) break;
        if (equal_ci(haystack.substr(start, n), needle)) return start;
    }
    return std::string_view::npos;
}

// Upper case, whitespace runs collapsed to one space, trimmed.
std::string normalise_label(std::string_view raw) {
    std::string out;
    bool space = false;
    for (char c : raw) {
        if (is_space(c)) {
            space = !out.empty();
        } else {
            if (space) out += ' ';
            space = false;
            out += upper(c);
        }
    }
    return out;
}

[[noreturn]] void malformed(const std::string& message, std::string detail = {}) {
    throw Error(ErrorKind::Malformed, message, std::move(detail));
}

// Refuses private keys before any block is decoded, so key bytes are never
// handled beyond this scan. The label is read to the end of its line, which
// also catches BEGIN lines with broken trailing dashes.
//
// Linear time: each line is examined once, from its first BEGIN marker to
// its end. A later BEGIN on the same line sees a suffix of that text, so it
// cannot find a "PRIVATE KEY" the first one missed (on 1.4 every BEGIN
// copied the rest of its line: quadratic on repeated markers).
void refuse_private_keys(std::string_view text) {
    for (std::size_t at = find_ci(text, kBegin, 0); at != std::string_view::npos;) {
        const std::size_t eol = text.find_first_of("\r\n", at);
        const std::size_t from = at + kBegin.size();
        const std::string line = normalise_label(text.substr(from, eol == std::string_view::npos ? eol : eol - from));
        if (line.find("PRIVATE KEY") != std::string::npos) {
            throw_private_key_found();
        }
        if (eol == std::string_view::npos) break;
        poll_cancel();
        at = find_ci(text, kBegin, eol);
    }
    if (find_ci(text, "PuTTY-User-Key-File-", 0) != std::string_view::npos) {
        throw_private_key_found();
    }
}

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Byte classes for base64 decoding: 0..63 digit values, then these.
constexpr std::uint8_t kB64Space = 64;    // skipped: ' ', '\t', '\r', '\n'
constexpr std::uint8_t kB64Pad = 65;      // '='
constexpr std::uint8_t kB64Invalid = 66;  // anything else

constexpr std::array<std::uint8_t, 256> make_base64_table() {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = kB64Invalid;
    for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
    t[static_cast<unsigned char>(' ')] = kB64Space;
    t[static_cast<unsigned char>('\t')] = kB64Space;
    t[static_cast<unsigned char>('\r')] = kB64Space;
    t[static_cast<unsigned char>('\n')] = kB64Space;
    t[static_cast<unsigned char>('=')] = kB64Pad;
    return t;
}
constexpr std::array<std::uint8_t, 256> kBase64Table = make_base64_table();

// RFC 1421 style "Name: value" header lines may open a block; they end at
// the first blank line.
std::string_view skip_headers(std::string_view body) {
    std::size_t first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return body;
    std::size_t eol = body.find('\n', first);
    std::string_view line = body.substr(first, eol == std::string_view::npos ? eol : eol - first);
    if (line.find(':') == std::string_view::npos) return body;
    for (std::size_t pos = first; pos < body.size();) {
        std::size_t next = body.find('\n', pos);
        if (next == std::string_view::npos) break;
        std::string_view l = body.substr(pos, next - pos);
        if (l.find_first_not_of(" \t\r") == std::string_view::npos) return body.substr(next + 1);
        pos = next + 1;
    }
    malformed("PEM block has header lines but no base64 content");
}

std::string base64_decode(std::string_view body, const std::string& label) {
    // Written through a pointer into a buffer sized for the worst case (every
    // byte a base64 digit), then trimmed.
    std::string out(body.size() / 4 * 3 + 3, '\0');
    char* w = out.data();
    std::uint32_t acc = 0;
    int quantum = 0;  // characters in the current 4-character group
    int padding = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(body.data());
    const std::size_t n = body.size();
    ScanPoll poll;
    for (std::size_t i = 0; i < n; ++i) {
        poll.tick(i);
        // Common case: a whole group of four digits at a group boundary.
        if (quantum == 0 && padding == 0 && i + 4 <= n) {
            const std::uint8_t a = kBase64Table[in[i]], b = kBase64Table[in[i + 1]], c = kBase64Table[in[i + 2]],
                               d = kBase64Table[in[i + 3]];
            if ((a | b | c | d) < 64) {
                const std::uint32_t group = (static_cast<std::uint32_t>(a) << 18) | (static_cast<std::uint32_t>(b) << 12) |
                                            (static_cast<std::uint32_t>(c) << 6) | d;
                *w++ = static_cast<char>((group >> 16) & 0xFF);
                *w++ = static_cast<char>((group >> 8) & 0xFF);
                *w++ = static_cast<char>(group & 0xFF);
                i += 3;
                continue;
            }
        }
        const std::uint8_t v = kBase64Table[in[i]];
        if (v < 64) {
            if (padding > 0) malformed("PEM block " + label + " has base64 data after its padding");
            acc = (acc << 6) | v;
            if (++quantum == 4) {
                *w++ = static_cast<char>((acc >> 16) & 0xFF);
                *w++ = static_cast<char>((acc >> 8) & 0xFF);
                *w++ = static_cast<char>(acc & 0xFF);
                acc = 0;
                quantum = 0;
            }
            continue;
        }
        if (v == kB64Space) continue;
        if (v == kB64Pad) {
            if (quantum < 2 || ++padding + quantum > 4) {
                malformed("PEM block " + label + " has invalid base64 padding");
            }
            continue;
        }
        malformed("PEM block " + label + " contains a character that is not base64");
    }
    if (quantum != 0) {
        if (quantum + padding != 4) malformed("PEM block " + label + " has truncated base64 content");
        if (quantum == 2) {
            *w++ = static_cast<char>((acc >> 4) & 0xFF);
        } else {
            *w++ = static_cast<char>((acc >> 10) & 0xFF);
            *w++ = static_cast<char>((acc >> 2) & 0xFF);
        }
    } else if (padding != 0) {
        malformed("PEM block " + label + " has invalid base64 padding");
    }
    out.resize(static_cast<std::size_t>(w - out.data()));
    if (out.empty()) malformed("PEM block " + label + " is empty");
    return out;
}

// Reads "<label>-----" starting at `from`; the label must end on its line.
std::string read_label(std::string_view text, std::size_t from, std::size_t& after, const char* which) {
    // The line end is looked for only up to the closing dashes: a search to
    // the end of the text would make many blocks on one line quadratic.
    const std::size_t close = text.find(kDashes, from);
    const bool eol_first = close != std::string_view::npos &&
                           text.substr(from, close - from).find_first_of("\r\n") != std::string_view::npos;
    if (close == std::string_view::npos || eol_first) {
        malformed(std::string("PEM ") + which + " line is not terminated by -----");
    }
    after = close + kDashes.size();
    // Labels end up in error messages: keep them printable ASCII ('?' for any
    // other byte, so no escape sequence adds characters the input did not
    // have) and short, so input cannot inject bytes into them.
    constexpr std::size_t kMaxLabel = 40;
    std::string label;
    for (char c : normalise_label(text.substr(from, close - from))) {
        if (label.size() >= kMaxLabel) {
            label += "...";
            break;
        }
        const auto b = static_cast<unsigned char>(c);
        label += (b >= 0x20 && b < 0x7F) ? c : '?';
    }
    return label;
}

}  // namespace

namespace {
CancelHook g_cancel_hook = nullptr;
}  // namespace

CancelHook set_cancel_hook(CancelHook hook) noexcept {
    CancelHook previous = g_cancel_hook;
    g_cancel_hook = hook;
    return previous;
}

void poll_cancel() {
    if (g_cancel_hook != nullptr && g_cancel_hook()) throw Cancelled();
}

void throw_private_key_found() {
    throw Error(ErrorKind::PrivateKey, "input contains a private key",
                "Nothing was stored: private keys must never be sent to the database.")
        .with_hint("Send only the certificate (the -----BEGIN CERTIFICATE----- blocks) and keep the key where it is.");
}

bool next_pem_block(std::string_view text, std::size_t& pos, PemBlock& out) {
    poll_cancel();
    std::size_t begin = find_ci(text, kBegin, pos);
    if (begin == std::string_view::npos) return false;
    std::size_t body_start = 0;
    std::string label = read_label(text, begin + kBegin.size(), body_start, "BEGIN");
    if (label.empty()) malformed("PEM BEGIN line has no label");
    std::size_t end = find_ci(text, kEnd, body_start);
    if (end == std::string_view::npos) malformed("PEM block " + label + " has no END line");
    // Only up to the END line: searching further would rescan the rest of
    // the text for every block.
    std::size_t nested = find_ci(text.substr(0, end), kBegin, body_start);
    if (nested != std::string_view::npos) {
        malformed("PEM block " + label + " contains another BEGIN line before its END line");
    }
    std::size_t after_end = 0;
    std::string end_label = read_label(text, end + kEnd.size(), after_end, "END");
    if (end_label != label) {
        malformed(std::string("PEM block BEGIN ").append(label).append(" is closed by END ").append(end_label));
    }
    PemKind kind = PemKind::Other;
    if (label == "CERTIFICATE" || label == "X509 CERTIFICATE") kind = PemKind::Certificate;
    if (label == "TRUSTED CERTIFICATE") kind = PemKind::TrustedCertificate;
    if (label == "PKCS7" || label == "CMS" || label == "PKCS #7 SIGNED DATA") kind = PemKind::Pkcs7;
    if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST") kind = PemKind::CertificateRequest;
    out.kind = kind;
    out.der.clear();
    if (kind != PemKind::Other) {
        out.der = base64_decode(skip_headers(text.substr(body_start, end - body_start)), label);
    }
    out.label = std::move(label);
    pos = after_end;
    return true;
}

void refuse_pem_private_keys(std::string_view text) { refuse_private_keys(text); }

std::vector<PemBlock> split_pem(std::string_view text) {
    refuse_private_keys(text);
    std::vector<PemBlock> blocks;
    std::size_t pos = 0;
    PemBlock block{PemKind::Other, {}, {}};
    while (next_pem_block(text, pos, block)) blocks.push_back(std::move(block));
    return blocks;
}

bool looks_like_pem(std::string_view bytes) {
    return !bytes.empty() && static_cast<unsigned char>(bytes[0]) != 0x30 &&
           find_ci(bytes, kBegin, 0) != std::string_view::npos;
}

std::string pem_encode(std::string_view der, std::string_view label) {
    constexpr std::string_view kBeginLine = "-----BEGIN ";
    constexpr std::string_view kEndLine = "-----END ";
    const std::size_t b64_len = (der.size() + 2) / 3 * 4;
    const std::size_t line_breaks = (b64_len + 63) / 64;
    std::string out;
    out.reserve(kBeginLine.size() + kEndLine.size() + 2 * (label.size() + kDashes.size() + 1) + b64_len + line_breaks);
    out.append(kBeginLine).append(label).append(kDashes).push_back('\n');
    const std::size_t body_at = out.size();
    out.resize(body_at + b64_len + line_breaks);
    char* w = out.data() + body_at;
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const std::size_t n = der.size();
    std::size_t column = 0;
    auto put4 = [&](char a, char b, char c, char d) {
        w[0] = a;
        w[1] = b;
        w[2] = c;
        w[3] = d;
        w += 4;
        if ((column += 4) == 64) {
            *w++ = '\n';
            column = 0;
        }
    };
    std::size_t i = 0;
    // Whole 64-character lines (48 bytes) without the column check (1.6:
    // pem_encode runs for every parsed certificate).
    for (; i + 48 <= n; i += 48) {
        for (std::size_t k = i; k < i + 48; k += 3, w += 4) {
            const std::uint32_t v = (static_cast<std::uint32_t>(p[k]) << 16) | (static_cast<std::uint32_t>(p[k + 1]) << 8) | p[k + 2];
            w[0] = kBase64Alphabet[(v >> 18) & 63];
            w[1] = kBase64Alphabet[(v >> 12) & 63];
            w[2] = kBase64Alphabet[(v >> 6) & 63];
            w[3] = kBase64Alphabet[v & 63];
        }
        *w++ = '\n';
    }
    for (; i + 3 <= n; i += 3) {
        const std::uint32_t v = (static_cast<std::uint32_t>(p[i]) << 16) | (static_cast<std::uint32_t>(p[i + 1]) << 8) | p[i + 2];
        put4(kBase64Alphabet[(v >> 18) & 63], kBase64Alphabet[(v >> 12) & 63], kBase64Alphabet[(v >> 6) & 63],
             kBase64Alphabet[v & 63]);
    }
    if (i < n) {
        std::uint32_t v = static_cast<std::uint32_t>(p[i]) << 16;
        if (i + 1 < n) v |= static_cast<std::uint32_t>(p[i + 1]) << 8;
        put4(kBase64Alphabet[(v >> 18) & 63], kBase64Alphabet[(v >> 12) & 63],
             i + 1 < n ? kBase64Alphabet[(v >> 6) & 63] : '=', '=');
    }
    if (column != 0) *w++ = '\n';
    out.append(kEndLine).append(label).append(kDashes).push_back('\n');
    return out;
}

std::string colon_hex(const unsigned char* data, std::size_t len) {
    // Sized once and written in place: called for every fingerprint, key id
    // and serial (1.6: it showed in the ssl_parse profile).
    if (len == 0) return {};
    std::string out(len * 3 - 1, ':');
    char* w = out.data();
    for (std::size_t i = 0; i < len; ++i, w += 3) {
        w[0] = kHexDigits[data[i] >> 4];
        w[1] = kHexDigits[data[i] & 0x0F];
    }
    return out;
}

std::string ip_text(const unsigned char* data, std::size_t len) {
    if (len == 4) {
        return std::to_string(data[0]) + "." + std::to_string(data[1]) + "." + std::to_string(data[2]) + "." +
               std::to_string(data[3]);
    }
    if (len != 16) return "invalid(" + colon_hex(data, len) + ")";

    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i) groups[i] = (static_cast<unsigned>(data[2 * i]) << 8) | data[2 * i + 1];

    bool v4_mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 && groups[4] == 0 &&
                     groups[5] == 0xFFFF;
    if (v4_mapped) return "::ffff:" + ip_text(data + 12, 4);

    int best_start = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (groups[static_cast<std::size_t>(i)] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[static_cast<std::size_t>(j)] == 0) ++j;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) best_start = -1;  // RFC 5952 4.2.2: never compress a single group

    static constexpr char kLowerHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        unsigned g = groups[static_cast<std::size_t>(i)];
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned nibble = (g >> shift) & 0xF;
            if (nibble != 0 || started || shift == 0) {
                out += kLowerHex[nibble];
                started = true;
            }
        }
    }
    return out;
}

std::string sanitize_text(std::string_view bytes, bool escape_backslash) {
    std::string out;
    out.reserve(bytes.size());
    auto escape = [&out](unsigned char b) {
        out += '\\';
        out += kHexDigits[b >> 4];
        out += kHexDigits[b & 0x0F];
    };
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    for (std::size_t i = 0; i < n;) {
        unsigned char b = p[i];
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7F || (escape_backslash && b == '\\')) {
                escape(b);
            } else {
                out += static_cast<char>(b);
            }
            ++i;
            continue;
        }
        // Strict UTF-8 (RFC 3629): no overlongs, no surrogates, max U+10FFFF.
        std::size_t len = 0;
        std::uint32_t cp = 0, min = 0;
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2; cp = b & 0x1F; min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3; cp = b & 0x0F; min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4; cp = b & 0x07; min = 0x10000;
        }
        bool ok = len != 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) {
            ok = (p[i + k] & 0xC0) == 0x80;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (ok) {
            out.append(bytes.substr(i, len));
            i += len;
        } else {
            escape(b);
            ++i;
        }
    }
    return out;
}

std::int64_t epoch_seconds(int year, int month, int day, int hour, int minute, int second) {
    // Days from civil, after H. Hinnant's public-domain derivation.
    const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t mp = (month + 9) % 12;
    const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = era * 146097 + doe - 719468;
    const std::int64_t time_of_day = static_cast<std::int64_t>(hour) * 3600 + static_cast<std::int64_t>(minute) * 60 + second;
    return days * 86400 + time_of_day;
}

}  // namespace netbox_ssl

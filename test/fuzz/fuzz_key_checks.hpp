// Helpers shared by the targets that check the private-key refusal
// (fuzz_private_key for certificates, fuzz_csr for requests): finding a
// "-----BEGIN <anything>PRIVATE KEY-----" line, and checking that no error
// message or detail echoes bytes of a PEM body. Not part of the core library.
#pragma once

#include "fuzz_common.hpp"

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl::fuzz {

inline constexpr std::size_t kLeakWindow = 16;

inline bool istarts_with(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    }
    return true;
}

inline bool iends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && istarts_with(s.substr(s.size() - suffix.size()), suffix);
}

inline bool icontains(std::string_view s, std::string_view needle) {
    for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
        if (istarts_with(s.substr(i), needle)) return true;
    }
    return false;
}

inline std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '\r' || text[i] == '\n') {
            lines.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return lines;
}

inline bool has_private_key_begin_line(const std::vector<std::string_view>& lines) {
    for (std::string_view line : lines) {
        if (istarts_with(line, "-----BEGIN") && iends_with(line, "PRIVATE KEY-----")) return true;
    }
    return false;
}

inline bool is_base64_char(unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '/' || c == '=';
}

// Body lines: every line after a line containing "-----BEGIN" up to (not
// including) the next line containing "-----END" or "-----BEGIN". An
// unterminated block runs to the end of the input. Returned twice: the raw
// lines, and the base64 characters alone (as a decoder would join them).
struct Bodies {
    std::vector<std::string_view> lines;
    std::string joined;
    std::string outside;  // every other line (BEGIN/END lines, text around blocks), upper case
};

inline Bodies pem_bodies(const std::vector<std::string_view>& lines) {
    Bodies out;
    bool inside = false;
    for (std::string_view line : lines) {
        const bool begin = icontains(line, "-----BEGIN");
        const bool end = !begin && icontains(line, "-----END");
        if (begin || end || !inside) {
            inside = begin || (inside && !end);
            out.joined += '\n';  // keeps separate blocks from joining into one run
            for (char c : line) out.outside += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out.outside += '\n';
            continue;
        }
        out.lines.push_back(line);
        for (unsigned char c : line) {
            if (is_base64_char(c)) out.joined += static_cast<char>(c);
        }
    }
    return out;
}

inline void check_no_echo(const std::string& reported, const Bodies& bodies, const char* where) {
    if (reported.size() < kLeakWindow) return;
    // Only windows made of base64 characters count: our fixed message texts
    // (spaces, punctuation) may legitimately also appear in an input body.
    std::size_t run = 0;
    for (std::size_t end = 0; end < reported.size(); ++end) {
        run = is_base64_char(static_cast<unsigned char>(reported[end])) ? run + 1 : 0;
        if (run < kLeakWindow) continue;
        std::string_view window(reported.data() + end + 1 - kLeakWindow, kLeakWindow);
        bool leaked = bodies.joined.find(window) != std::string::npos;
        for (std::size_t k = 0; !leaked && k < bodies.lines.size(); ++k) {
            leaked = bodies.lines[k].find(window) != std::string_view::npos;
        }
        // Bytes that also occur outside the bodies (e.g. a label, which the
        // messages name in upper case) cannot be attributed to a body.
        std::string upper_window(window);
        for (char& c : upper_window) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (leaked && bodies.outside.find(upper_window) == std::string::npos) fail(where, reported);
    }
}


}  // namespace netbox_ssl::fuzz

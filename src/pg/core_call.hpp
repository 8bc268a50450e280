// Calling the C++ core from an entry point: run_core catches every exception
// into plain storage (CoreFailure); once the C++ scope is left, the caller
// raises it with raise_core_error. Shared by certificate_input.cpp,
// bundle.cpp, csr.cpp and chain.cpp.
#pragma once

#include "core/cancel.hpp"
#include "core/certificate.hpp"

#include "pg/adapter.hpp"

extern "C" {
#include "miscadmin.h"
}

#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <string>

// A core failure, copied out of the exception before it is destroyed.
struct CoreFailure {
    netbox_ssl::ErrorKind kind = netbox_ssl::ErrorKind::Internal;
    bool out_of_memory = false;
    bool cancelled = false;  // the core stopped for a pending interrupt
    char message[512] = {};
    char detail[512] = {};
};

// snprintf may cut a message inside a UTF-8 character; drop the partial one.
inline void trim_partial_utf8(char* text) {
    std::size_t len = std::strlen(text);
    std::size_t start = len;
    while (start > 0 && (static_cast<unsigned char>(text[start - 1]) & 0xC0) == 0x80) --start;
    if (start > 0) {
        const auto lead = static_cast<unsigned char>(text[start - 1]);
        const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (lead >= 0xC0 && len - (start - 1) < need) text[start - 1] = '\0';
    }
}

// The core's cancellation hook: true when PostgreSQL has a query cancel
// (pg_cancel_backend, statement_timeout, lock_timeout, ...) or a terminate
// request pending. Only reads the volatile sig_atomic_t flags the signal
// handlers set; it never calls into PostgreSQL, so it is safe inside C++
// frames. Other pending interrupts (catchup, notify, barriers) do not stop
// the core: they are served at the next CHECK_FOR_INTERRUPTS.
inline bool core_interrupt_pending() noexcept {
    return InterruptPending && (QueryCancelPending || ProcDiePending);
}

// Raises the pending cancel/terminate error for a CoreFailure whose core
// call was cancelled; returns at once otherwise. Call it only where no C++
// object is alive (raise_core_error and the other raise paths do).
inline void raise_if_cancelled(const CoreFailure* failure) {
    if (!failure->cancelled) return;
    CHECK_FOR_INTERRUPTS();
    // The interrupt was held off or served without an error: still stop,
    // with the SQLSTATE of a cancelled statement.
    ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement: netbox_ssl work was interrupted")));
}

// Runs `fn` and reports any exception as a CoreFailure. Never throws, never
// raises a PostgreSQL error. Installs the cancellation hook first, so long
// core loops stop within a few milliseconds of a cancel or timeout (the
// core throws netbox_ssl::Cancelled, mapped here to failure->cancelled).
template <typename Fn>
bool run_core(CoreFailure* failure, Fn&& fn) noexcept {
    netbox_ssl::set_cancel_hook(&core_interrupt_pending);
    try {
        fn();
        return true;
    } catch (const netbox_ssl::Cancelled&) {
        failure->cancelled = true;
        snprintf(failure->message, sizeof failure->message, "%s", "netbox_ssl operation cancelled");
    } catch (const netbox_ssl::Error& e) {
        failure->kind = e.kind();
        snprintf(failure->message, sizeof failure->message, "%s", e.what());
        snprintf(failure->detail, sizeof failure->detail, "%s", e.detail().c_str());
        trim_partial_utf8(failure->message);
        trim_partial_utf8(failure->detail);
    } catch (const std::bad_alloc&) {
        failure->out_of_memory = true;
    } catch (const std::exception& e) {
        snprintf(failure->message, sizeof failure->message, "certificate processing failed: %s", e.what());
    } catch (...) {
        snprintf(failure->message, sizeof failure->message, "certificate processing failed unexpectedly");
    }
    return false;
}

// The documented SQLSTATE for a core failure (22P02/22P03, 22023, 54000).
[[noreturn]] void raise_core_error(const CoreFailure* failure, InputForm form);

// Inside run_core only: they throw std::bad_alloc instead of raising.
void flatten_certificate(const netbox_ssl::CertificateInfo& info, FlatCert* out);
text* core_text(const std::string& s);
text* core_text(const std::optional<std::string>& s);

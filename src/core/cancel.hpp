// Cancellation of long core work. The core knows nothing of PostgreSQL: the
// caller installs a hook (a plain function that must not throw or longjmp),
// and every loop that can run long on hostile input calls poll_cancel()
// (per PEM block, per certificate, per 64 KiB scanned). When the hook
// returns true, poll_cancel throws Cancelled, which unwinds the C++ frames
// normally; the PostgreSQL adapter (pg/boundary.hpp) then raises the
// server's own query-cancel / statement-timeout / terminate error once no
// C++ frame is alive.
#pragma once

#include <cstddef>
#include <exception>

namespace netbox_ssl {

// Thrown by poll_cancel. Deliberately not an Error: it is not a verdict on
// the input, and no code that handles Error may swallow it.
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "netbox_ssl operation cancelled"; }
};

// True when the current call must stop. Must not throw.
using CancelHook = bool (*)() noexcept;

// Installs the hook (nullptr: never cancelled) and returns the previous one.
// One hook per process: the server backend and the tests are single-threaded.
CancelHook set_cancel_hook(CancelHook hook) noexcept;

// Throws Cancelled when the hook says so.
void poll_cancel();

// Polls once per kCancelStride bytes of progress through a scan: call
// `tick(pos)` with the current position; cheap when no poll is due.
constexpr std::size_t kCancelStride = std::size_t{64} * 1024;
class ScanPoll {
public:
    explicit ScanPoll(std::size_t start = 0) : next_(start + kCancelStride) {}
    void tick(std::size_t pos) {
        if (pos >= next_) {
            next_ = pos + kCancelStride;
            poll_cancel();
        }
    }

private:
    std::size_t next_;
};

}  // namespace netbox_ssl

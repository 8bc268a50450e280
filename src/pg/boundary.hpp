// The one boundary helper of the PostgreSQL adapter (boundary.cpp). Every
// SQL-callable C function is defined with NETBOX_SSL_ENTRY and reads its
// arguments, hands memory across, raises core errors and builds its result
// through the functions declared here; docs/cpp-postgres-boundary.md says
// why. scripts/lint.sh refuses PG_FUNCTION_INFO_V1 anywhere but in this
// file, so an entry point cannot bypass it.
#pragma once

#include "core/cancel.hpp"
#include "core/certificate.hpp"

#include "pg/adapter.hpp"

extern "C" {
#include "access/tupdesc.h"
#include "miscadmin.h"
}

#include <cstddef>
#include <optional>
#include <string>

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

using EntryBody = Datum (*)(FunctionCallInfo);

// Runs one entry point's body: installs the core's cancellation hook, then
// calls `body`. Every entry point goes through it (NETBOX_SSL_ENTRY).
Datum run_entry(FunctionCallInfo fcinfo, EntryBody body);

// Defines the SQL-callable C function `name` (with its PG_FUNCTION_INFO_V1
// record) and opens the definition of its body, which receives `fcinfo`:
//
//     NETBOX_SSL_ENTRY(ssl_parse_text) { return parse(fcinfo, InputForm::Text); }
#define NETBOX_SSL_ENTRY(name)                                                        \
    extern "C" {                                                                      \
    PG_FUNCTION_INFO_V1(name);                                                        \
    }                                                                                 \
    static Datum name##_body(FunctionCallInfo fcinfo);                                \
    extern "C" Datum name(PG_FUNCTION_ARGS) { return run_entry(fcinfo, name##_body); } \
    static Datum name##_body(FunctionCallInfo fcinfo)

// ---------------------------------------------------------------------------
// Arguments: read and detoasted before any C++ object exists
// ---------------------------------------------------------------------------

// A varlena's payload.
struct InputBytes {
    const char* data = "";
    std::size_t len = 0;
};

// Raises 22004 "<what> must not be NULL" when argument `argno` is NULL.
void require_arg(FunctionCallInfo fcinfo, int argno, const char* what);

// The size of argument `argno`'s value once detoasted, known without
// detoasting it.
Size arg_raw_size(FunctionCallInfo fcinfo, int argno);

// Raises 54000 "<what> is too large" (sizes in DETAIL, `hint` as HINT) when
// `size` exceeds `limit`.
void refuse_oversized(const char* what, Size size, Size limit, const char* hint);

// The hint of every input checked against netbox_ssl.max_input_bytes.
extern const char* const kMaxInputHint;

// Input argument `argno` (text or bytea): NULL refused (22004, "<what>
// must not be NULL"), then the stored size checked against `limit` before
// detoasting (54000, "<input> is too large"; 0 means no limit), then
// detoasted. The statement is hidden from the log on both errors: it
// carries certificate input.
InputBytes read_input_arg(FunctionCallInfo fcinfo, int argno, const char* what, const char* input, Size limit);

// A text argument's bytes; "" when NULL.
InputBytes read_text_arg(FunctionCallInfo fcinfo, int argno);

// A text argument, NULL when absent or NULL.
text* optional_text_arg(FunctionCallInfo fcinfo, int argno);

// True when the core must escape non-ASCII text (the database encoding
// cannot hold arbitrary UTF-8).
bool core_ascii_only();

// The core's parse options for this backend: the input limit and encoding.
netbox_ssl::ParseOptions core_parse_options();

// ---------------------------------------------------------------------------
// Calling the core
// ---------------------------------------------------------------------------

// A core failure, copied out of the exception before it is destroyed.
struct CoreFailure {
    netbox_ssl::ErrorKind kind = netbox_ssl::ErrorKind::Internal;
    bool out_of_memory = false;
    bool cancelled = false;  // the core stopped for a pending interrupt
    int item = 0;            // bundle item the error is about, 0 for none
    char message[512] = {};
    char detail[512] = {};
    char hint[256] = {};
};

// snprintf may cut a message inside a UTF-8 character; drop the partial one.
void trim_partial_utf8(char* text);

// The core's cancellation hook: true when PostgreSQL has a query cancel
// (pg_cancel_backend, statement_timeout, lock_timeout, ...) or a terminate
// request pending. Only reads the volatile sig_atomic_t flags the signal
// handlers set; it never calls into PostgreSQL, so it is safe inside C++
// frames. Other pending interrupts (catchup, notify, barriers) do not stop
// the core: they are served at the next CHECK_FOR_INTERRUPTS.
inline bool core_interrupt_pending() noexcept { return InterruptPending && (QueryCancelPending || ProcDiePending); }

// Copies the exception being handled into `failure`. Only inside a catch
// handler; never throws.
void capture_core_failure(CoreFailure* failure) noexcept;

// Runs `fn` and reports any exception as a CoreFailure. Never throws, never
// raises a PostgreSQL error. Long core loops stop within a few milliseconds
// of a cancel or timeout (the core throws netbox_ssl::Cancelled, mapped to
// failure->cancelled; run_entry installed the hook).
template <typename Fn>
bool run_core(CoreFailure* failure, Fn&& fn) noexcept {
    netbox_ssl::set_cancel_hook(&core_interrupt_pending);
    try {
        fn();
        return true;
    } catch (...) {
        capture_core_failure(failure);
    }
    return false;
}

// Raises the pending cancel/terminate error for a CoreFailure whose core
// call was cancelled; returns at once otherwise. Call it only where no C++
// object is alive (raise_core_error does).
void raise_if_cancelled(const CoreFailure* failure);

// How a core failure is reported.
enum class CoreErrorStyle {
    Input,  // certificate input: core detail as DETAIL, hint on 54000
    Chain,  // chain validation: about anchors and pool, no DETAIL or HINT
};

// The one map from error kind to SQLSTATE: Malformed 22P02 (text input) or
// 22P03 (binary input), PrivateKey and Pkcs12 22023, TooLarge 54000,
// Internal XX000; out of memory 53200; cancelled: the server's own error.
// The statement is always hidden from the log, the context too for keys.
[[noreturn]] void raise_core_error(const CoreFailure* failure, InputForm form,
                                   CoreErrorStyle style = CoreErrorStyle::Input);

// ---------------------------------------------------------------------------
// Memory handed across and results
// ---------------------------------------------------------------------------

// Inside run_core only: palloc that throws std::bad_alloc (or a TooLarge
// Error past 1 GB) instead of raising.
void* core_alloc(std::size_t size);
text* core_text(const std::string& s);
text* core_text(const std::optional<std::string>& s);

// Inside run_core only: seconds since 1970 as a timestamptz; a Malformed
// Error ("certificate's <which> date is out of range") outside
// PostgreSQL's range.
TimestampTz core_timestamptz(std::int64_t unix_seconds, const char* which);

// Seconds since 1970 of a finite timestamptz (floor).
std::int64_t unix_seconds(TimestampTz ts);

// The blessed tuple descriptor of a function returning a composite;
// elog(ERROR) when called where no composite is expected.
TupleDesc composite_result_desc(FunctionCallInfo fcinfo);

// A text[] of `n` elements (none NULL).
Datum text_array_datum(text* const* items, int n);

// Inside run_core only: a parsed certificate as palloc'd values
// (certificate_input.cpp).
void flatten_certificate(const netbox_ssl::CertificateInfo& info, FlatCert* out);

// ---------------------------------------------------------------------------
// Calling PostgreSQL from inside a core callback (revocation look-ups)
// ---------------------------------------------------------------------------

// A C-style step that may raise PostgreSQL errors (SPI, palloc, ...). It
// must own no C++ object with a destructor.
using PgStep = void (*)(void* arg);

// Runs step(arg) where C++ frames are alive (e.g. in a RevocationSource
// called by the chain validator inside run_core), so that no PostgreSQL
// error longjmps across them: the step runs in an internal subtransaction
// under PG_TRY; on an error the subtransaction is rolled back, the error is
// copied (CopyErrorData) and flushed (FlushErrorState), and only after
// PG_END_TRY is it rethrown as a C++ exception: netbox_ssl::Cancelled for a
// query cancel or timeout (57014, so raise_core_error raises the cancel
// again), otherwise netbox_ssl::Error(Internal) carrying the message. On
// success the subtransaction is released: what the step wrote stays.
void guarded_pg_call(PgStep step, void* arg);

// The one boundary helper of the PostgreSQL adapter: entry points, argument
// reading, the error-kind -> SQLSTATE map, memory handed across and result
// building. See boundary.hpp and docs/cpp-postgres-boundary.md.
#include "pg/boundary.hpp"

#include <cstdio>
#include <cstring>
#include <new>

extern "C" {
#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
}

const char* const kMaxInputHint = "Raise the setting netbox_ssl.max_input_bytes if this input is genuine.";

Datum run_entry(FunctionCallInfo fcinfo, EntryBody body) {
    netbox_ssl::set_cancel_hook(&core_interrupt_pending);
    return body(fcinfo);
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

void require_arg(FunctionCallInfo fcinfo, int argno, const char* what) {
    if (PG_ARGISNULL(argno)) {
        // The statement may carry certificate input in another argument.
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be NULL", what), errhidestmt(true)));
    }
}

Size arg_raw_size(FunctionCallInfo fcinfo, int argno) { return toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ; }

void refuse_oversized(const char* what, Size size, Size limit, const char* hint) {
    if (size <= limit) return;
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("%s is too large", what),
                    errdetail("It is %zu bytes; the limit is %zu bytes.", size, limit),
                    hint != nullptr ? errhint("%s", hint) : 0, errhidestmt(true)));
}

InputBytes read_input_arg(FunctionCallInfo fcinfo, int argno, const char* what, const char* input, Size limit) {
    require_arg(fcinfo, argno, what);
    // Checked on the stored size, before detoasting, so an oversized value
    // costs no decompression and no parsing.
    if (limit != 0) refuse_oversized(input, arg_raw_size(fcinfo, argno), limit, kMaxInputHint);
    struct varlena* arg = PG_GETARG_VARLENA_PP(argno);
    return {VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg)};
}

InputBytes read_text_arg(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno)) return {};
    text* t = PG_GETARG_TEXT_PP(argno);
    return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
}

text* optional_text_arg(FunctionCallInfo fcinfo, int argno) {
    return PG_NARGS() > argno && !PG_ARGISNULL(argno) ? PG_GETARG_TEXT_PP(argno) : nullptr;
}

bool core_ascii_only() {
    const int encoding = GetDatabaseEncoding();
    return encoding != PG_UTF8 && encoding != PG_SQL_ASCII;
}

netbox_ssl::ParseOptions core_parse_options() {
    netbox_ssl::ParseOptions options;
    options.max_input_bytes = static_cast<std::size_t>(netbox_ssl_max_input_bytes);
    options.ascii_only = core_ascii_only();
    return options;
}

// ---------------------------------------------------------------------------
// Core failures
// ---------------------------------------------------------------------------

void trim_partial_utf8(char* text) {
    std::size_t len = std::strlen(text);
    std::size_t start = len;
    while (start > 0 && (static_cast<unsigned char>(text[start - 1]) & 0xC0) == 0x80) --start;
    if (start > 0) {
        const auto lead = static_cast<unsigned char>(text[start - 1]);
        const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (lead >= 0xC0 && len - (start - 1) < need) text[start - 1] = '\0';
    }
}

void capture_core_failure(CoreFailure* failure) noexcept {
    try {
        throw;
    } catch (const netbox_ssl::Cancelled&) {
        failure->cancelled = true;
    } catch (const netbox_ssl::Error& e) {
        failure->kind = e.kind();
        failure->item = e.item();
        snprintf(failure->message, sizeof failure->message, "%s", e.what());
        snprintf(failure->detail, sizeof failure->detail, "%s", e.detail().c_str());
        snprintf(failure->hint, sizeof failure->hint, "%s", e.hint().c_str());
        trim_partial_utf8(failure->message);
        trim_partial_utf8(failure->detail);
        trim_partial_utf8(failure->hint);
    } catch (const std::bad_alloc&) {
        failure->out_of_memory = true;
    } catch (const std::exception& e) {
        snprintf(failure->detail, sizeof failure->detail, "%s", e.what());
        trim_partial_utf8(failure->detail);
    } catch (...) {
    }
}

void raise_if_cancelled(const CoreFailure* failure) {
    if (!failure->cancelled) return;
    CHECK_FOR_INTERRUPTS();
    // The interrupt was held off or served without an error: still stop,
    // with the SQLSTATE of a cancelled statement.
    ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to an interrupt"),
                    errdetail("netbox_ssl work was interrupted.")));
}

void raise_core_error(const CoreFailure* f, InputForm form, CoreErrorStyle style) {
    raise_if_cancelled(f);
    using netbox_ssl::ErrorKind;
    if (f->out_of_memory) {
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                        errdetail(style == CoreErrorStyle::Input ? "Failed while parsing certificate input."
                                                                 : "Failed while validating a certificate chain."),
                        errhidestmt(true)));
    }
    int code = ERRCODE_INTERNAL_ERROR;
    const char* hint = nullptr;
    switch (f->kind) {
    case ErrorKind::Malformed:
        code = form == InputForm::Text ? ERRCODE_INVALID_TEXT_REPRESENTATION : ERRCODE_INVALID_BINARY_REPRESENTATION;
        break;
    case ErrorKind::PrivateKey:
    case ErrorKind::Pkcs12:
        code = ERRCODE_INVALID_PARAMETER_VALUE;
        break;
    case ErrorKind::TooLarge:
        code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        hint = kMaxInputHint;
        break;
    case ErrorKind::Internal:
        break;
    }
    if (code == ERRCODE_INTERNAL_ERROR && f->message[0] == '\0') {
        // Not a netbox_ssl::Error: a library exception (its text as DETAIL).
        ereport(ERROR, (errcode(code), errmsg("certificate processing failed"),
                        f->detail[0] != '\0' ? errdetail("%s", f->detail) : 0, errhidestmt(true)));
    }
    if (f->hint[0] != '\0') hint = f->hint;
    const bool input = style == CoreErrorStyle::Input;
    // A statement that carried certificate input may also carry a key the
    // core did not get to (or that sits in another argument), so it is never
    // copied into the server log (log_min_error_statement would log it); a
    // key error hides the context too.
    const bool secret = f->kind == ErrorKind::PrivateKey || f->kind == ErrorKind::Pkcs12;
    ereport(ERROR, (errcode(code), errmsg("%s", f->message),
                    input && f->detail[0] != '\0' ? errdetail("%s", f->detail) : 0,
                    input && hint != nullptr ? errhint("%s", hint) : 0, errhidestmt(true), errhidecontext(secret)));
    pg_unreachable();
}

// ---------------------------------------------------------------------------
// Memory handed across, results
// ---------------------------------------------------------------------------

void* core_alloc(std::size_t size) {
    if (size >= MaxAllocSize) throw netbox_ssl::Error(netbox_ssl::ErrorKind::TooLarge, "result is too large to return");
    void* p = palloc_extended(size, MCXT_ALLOC_NO_OOM);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

text* core_text(const std::string& s) {
    auto* t = static_cast<text*>(core_alloc(VARHDRSZ + s.size()));
    SET_VARSIZE(t, VARHDRSZ + s.size());
    std::memcpy(VARDATA(t), s.data(), s.size());
    return t;
}

text* core_text(const std::optional<std::string>& s) { return s ? core_text(*s) : nullptr; }

namespace {
constexpr std::int64_t kEpochShift = static_cast<std::int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

TimestampTz core_timestamptz(std::int64_t unix_seconds, const char* which) {
    // Only guards the multiplication below against overflow (about year
    // 287,000); IS_VALID_TIMESTAMP then applies PostgreSQL's own range,
    // which holds every date X.509 can express (up to 9999-12-31).
    constexpr std::int64_t kLimit = INT64CONST(9000000000000);
    if (unix_seconds > kLimit || unix_seconds < -kLimit) {
        throw netbox_ssl::Error(netbox_ssl::ErrorKind::Malformed, std::string("certificate's ") + which + " date is out of range");
    }
    const TimestampTz ts = (unix_seconds - kEpochShift) * USECS_PER_SEC;
    if (!IS_VALID_TIMESTAMP(ts)) {
        throw netbox_ssl::Error(netbox_ssl::ErrorKind::Malformed, std::string("certificate's ") + which + " date is out of range");
    }
    return ts;
}

std::int64_t unix_seconds(TimestampTz ts) {
    // Floor division, so an instant before 1970 is not rounded up.
    std::int64_t secs = ts / USECS_PER_SEC;
    if (ts % USECS_PER_SEC < 0) --secs;
    return secs + kEpochShift;
}

TupleDesc composite_result_desc(FunctionCallInfo fcinfo) {
    TupleDesc desc = nullptr;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
        elog(ERROR, "function returning a record called in a context that cannot accept it");
    }
    return BlessTupleDesc(desc);
}

Datum text_array_datum(text* const* items, int n) {
    Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
    for (int i = 0; i < n; ++i) datums[i] = PointerGetDatum(items[i]);
    return PointerGetDatum(construct_array(datums, n, TEXTOID, -1, false, TYPALIGN_INT));
}

// ---------------------------------------------------------------------------
// Calling PostgreSQL from inside a core callback
// ---------------------------------------------------------------------------

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

void guarded_pg_call(PgStep step, void* arg) {
    MemoryContext caller_cxt = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    volatile bool in_subxact = false;
    volatile int sqlstate = 0;  // of the caught error; 0: the step succeeded
    char message[256] = {};
    PG_TRY();
    {
        BeginInternalSubTransaction(nullptr);
        in_subxact = true;
        MemoryContextSwitchTo(caller_cxt);
        step(arg);
        ReleaseCurrentSubTransaction();
        in_subxact = false;
        MemoryContextSwitchTo(caller_cxt);
        CurrentResourceOwner = caller_owner;
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_cxt);
        ErrorData* edata = CopyErrorData();
        FlushErrorState();
        if (in_subxact) RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_cxt);
        CurrentResourceOwner = caller_owner;
        sqlstate = edata->sqlerrcode != 0 ? edata->sqlerrcode : ERRCODE_INTERNAL_ERROR;
        strlcpy(message, edata->message != nullptr ? edata->message : "", sizeof message);
        FreeErrorData(edata);
    }
    PG_END_TRY();
    // No PostgreSQL frame is left in between: C++ may throw again.
    if (sqlstate == 0) return;
    if (sqlstate == ERRCODE_QUERY_CANCELED) throw netbox_ssl::Cancelled();
    trim_partial_utf8(message);
    throw netbox_ssl::Error(netbox_ssl::ErrorKind::Internal, std::string("revocation lookup failed: ") + message);
}

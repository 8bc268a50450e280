// Writers refuse at once on a hot standby (read replica): one clear sentence
// with SQLSTATE 25006, before any argument is parsed or any SPI call is made.
// Without it they would parse the input and then fail inside SPI with
// PostgreSQL's "cannot execute SELECT in a read-only transaction".
#pragma once

#include "pg/adapter.hpp"

extern "C" {
#include "access/xlog.h"
}

inline void refuse_on_standby(const char* function) {
    if (RecoveryInProgress()) {
        ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                        errmsg("%s must run on the primary server", function),
                        errdetail("This server is a read-only hot standby.")));
    }
}

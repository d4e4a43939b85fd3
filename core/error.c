/*
 * error.c -- the last error message of the calling thread.
 */
#include <stdarg.h>
#include <stdio.h>

#include "dl.h"

static _Thread_local char last_error[512];

const char *dl_error(void)
{
    return last_error;
}

dl_status dl_fail(dl_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

/*
 * csv_number.c -- decimal text to float32, fast and locale-independent.
 *
 * Most numbers in data files have few digits: "5.1", "-0.25", "3e-4". For
 * those the digits fit a 64-bit integer m and the result is m * 10^e with
 * |e| <= 22, which one double multiplication or division computes exactly
 * rounded (Clinger's fast path). Everything else goes to strtod_l in the
 * C locale, so a user's LC_NUMERIC (a decimal comma) never changes what a
 * file means.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

static const double powers_of_ten[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Checks the grammar [+-] digits [. digits] [(e|E) [+-] digits] (at least
 * one digit in the mantissa) over text[0..n); on the way computes the fast
 * path's m and e. Returns false when the text is not such a number. */
static bool scan_decimal(const char *text, size_t n, bool *negative, uint64_t *m,
                         int *e, bool *exact)
{
    size_t i = 0;
    int digits = 0, dropped = 0, scale = 0;
    *negative = false;
    *m = 0;
    *exact = true;
    if (i < n && (text[i] == '+' || text[i] == '-'))
        *negative = text[i++] == '-';
    for (; i < n && is_digit(text[i]); i++, digits++) {
        if (*m < 100000000000000000ull)
            *m = *m * 10 + (uint64_t)(text[i] - '0');
        else
            dropped++;
    }
    if (i < n && text[i] == '.') {
        for (i++; i < n && is_digit(text[i]); i++, digits++) {
            if (*m < 100000000000000000ull) {
                *m = *m * 10 + (uint64_t)(text[i] - '0');
                scale--;
            } else if (text[i] != '0') {
                *exact = false;
            }
        }
    }
    if (digits == 0)
        return false;
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        bool neg_exp = false;
        int exp = 0, exp_digits = 0;
        i++;
        if (i < n && (text[i] == '+' || text[i] == '-'))
            neg_exp = text[i++] == '-';
        for (; i < n && is_digit(text[i]); i++, exp_digits++)
            if (exp < 100000)
                exp = exp * 10 + (text[i] - '0');
        if (exp_digits == 0)
            return false;
        scale += neg_exp ? -exp : exp;
    }
    if (dropped > 0)
        *exact = false;
    *e = scale + dropped;
    return i == n;
}

/* The C locale, made once. */
static locale_t c_locale(void)
{
    static locale_t c;
    if (c == (locale_t)0)
        c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c;
}

int dl_parse_float(const char *text, size_t length, float *value)
{
    while (length > 0 && is_space(*text)) {
        text++;
        length--;
    }
    while (length > 0 && is_space(text[length - 1]))
        length--;
    bool negative, exact;
    uint64_t m;
    int e;
    if (length == 0 || !scan_decimal(text, length, &negative, &m, &e, &exact))
        return 0;
    double d;
    if (exact && m <= (1ull << 53) && e >= -22 && e <= 22) {
        d = e >= 0 ? (double)m * powers_of_ten[e] : (double)m / powers_of_ten[-e];
        if (negative)
            d = -d;
    } else {
        char buf[128];
        char *copy = length < sizeof buf ? buf : malloc(length + 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, text, length);
        copy[length] = '\0';
        d = strtod_l(copy, NULL, c_locale());
        if (copy != buf)
            free(copy);
    }
    if (fabs(d) > FLT_MAX) {
        /* values that round to FLT_MAX are still in range */
        if (fabs(d) >= (double)FLT_MAX * (1.0 + 0x1p-25))
            return -1;
        d = d > 0 ? FLT_MAX : -FLT_MAX;
    }
    *value = (float)d;
    return 1;
}

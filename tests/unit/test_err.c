/* test_err.c: unit tests for error texts and names, the version string and statistic names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "msock.h"

struct err_entry {
    int code;
    const char *name;
};

static const struct err_entry err_table[] = {
#define ERR_ENTRY_(name, value, text) {MSOCK_##name, "MSOCK_" #name},
    MSOCK_ERRNO_MAP(ERR_ENTRY_)
#undef ERR_ENTRY_
};
#define ERR_COUNT (sizeof(err_table) / sizeof(err_table[0]))

static void test_every_code_has_its_own_name_and_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < ERR_COUNT; i++) {
        int code = err_table[i].code;
        assert_true(code < 0);
        assert_string_equal(msock_errname(code), err_table[i].name);
        assert_string_not_equal(msock_strerror(code), "unknown error");
        assert_true(strlen(msock_strerror(code)) > 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(code, err_table[j].code);
            assert_string_not_equal(msock_errname(code), msock_errname(err_table[j].code));
            assert_string_not_equal(msock_strerror(code), msock_strerror(err_table[j].code));
        }
    }
}

static void test_posix_codes_are_negative_errno(void **state)
{
    (void)state;
    assert_int_equal(MSOCK_EINTR, -EINTR);
    assert_int_equal(MSOCK_ENOMEM, -ENOMEM);
    assert_int_equal(MSOCK_EINVAL, -EINVAL);
    assert_int_equal(MSOCK_EBUSY, -EBUSY);
    assert_int_equal(MSOCK_ETIMEDOUT, -ETIMEDOUT);
    assert_int_equal(MSOCK_ECONNREFUSED, -ECONNREFUSED);
    assert_int_equal(MSOCK_ECONNRESET, -ECONNRESET);
    assert_int_equal(MSOCK_ECONNABORTED, -ECONNABORTED);
    assert_int_equal(MSOCK_EAGAIN, -EAGAIN);
    assert_int_equal(MSOCK_ENOTSUP, -ENOTSUP);
    assert_int_equal(MSOCK_EADDRINUSE, -EADDRINUSE);
    assert_int_equal(MSOCK_EADDRNOTAVAIL, -EADDRNOTAVAIL);
    assert_int_equal(MSOCK_EHOSTUNREACH, -EHOSTUNREACH);
    assert_int_equal(MSOCK_ENETUNREACH, -ENETUNREACH);
    assert_int_equal(MSOCK_ENOENT, -ENOENT);
    assert_int_equal(MSOCK_EEXIST, -EEXIST);
    assert_int_equal(MSOCK_EACCES, -EACCES);
    assert_int_equal(MSOCK_EPERM, -EPERM);
    assert_int_equal(MSOCK_EMSGSIZE, -EMSGSIZE);
    assert_int_equal(MSOCK_EPROTO, -EPROTO);
    assert_int_equal(MSOCK_ENOSPC, -ENOSPC);
    assert_int_equal(MSOCK_ENAMETOOLONG, -ENAMETOOLONG);
    assert_int_equal(MSOCK_EMFILE, -EMFILE);
}

static void test_library_codes_are_out_of_errno_range(void **state)
{
    (void)state;
    const int own[] = {MSOCK_ECLOSED, MSOCK_EBADTYPE, MSOCK_EREADONLY,
                       MSOCK_ENOTFOUND, MSOCK_ESTATE, MSOCK_EPEERPROTO, MSOCK_ENOMASTER,
                       MSOCK_EPEERAUTH, MSOCK_ECRYPTO};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        assert_true(own[i] < -1000);
    assert_string_equal(msock_errname(MSOCK_ECLOSED), "MSOCK_ECLOSED");
    assert_string_equal(msock_errname(MSOCK_ENOMASTER), "MSOCK_ENOMASTER");
    assert_string_equal(msock_strerror(MSOCK_ENOMASTER), "the group has no master");
    assert_string_equal(msock_strerror(MSOCK_ETIMEDOUT), "timed out");
    assert_string_equal(msock_errname(MSOCK_ETIMEDOUT), "MSOCK_ETIMEDOUT");
}

static void test_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(msock_strerror(0), "success");
    const int unknown[] = {1, EINVAL, -1000, -1010, -99999, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(msock_strerror(unknown[i]), "unknown error");
        assert_string_equal(msock_errname(unknown[i]), "MSOCK_E?");
    }
}

static void test_version_string(void **state)
{
    (void)state;
    char expected[64];
    snprintf(expected, sizeof(expected), "%d.%d.%d", MSOCK_VERSION_MAJOR, MSOCK_VERSION_MINOR,
             MSOCK_VERSION_PATCH);
    assert_string_equal(msock_version(), expected);
}

static void test_stat_names(void **state)
{
    (void)state;
    assert_string_equal(msock_stat_name(MSOCK_STAT_MSGS_SENT), "msgs_sent");
    assert_string_equal(msock_stat_name(MSOCK_STAT_ERR_HANDSHAKE_TIMEOUT), "err_handshake_timeout");
    assert_string_equal(msock_stat_name(MSOCK_STAT_ERR_IO), "err_io");
    for (int i = 0; i < MSOCK_STAT_COUNT; i++) {
        const char *name = msock_stat_name(i);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        for (const char *p = name; *p != '\0'; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        for (int j = 0; j < i; j++)
            assert_string_not_equal(name, msock_stat_name(j));
        /* The same pointer every time: callers may keep it. */
        assert_ptr_equal(name, msock_stat_name(i));
    }
    assert_null(msock_stat_name(-1));
    assert_null(msock_stat_name(MSOCK_STAT_COUNT));
    assert_null(msock_stat_name(INT_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_its_own_name_and_text),
        cmocka_unit_test(test_posix_codes_are_negative_errno),
        cmocka_unit_test(test_library_codes_are_out_of_errno_range),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_version_string),
        cmocka_unit_test(test_stat_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Shared by the C unit tests: cmocka, and an arena freed after each test.
 */

#ifndef CM_TEST_H
#define CM_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_comment_moderation_alloc.h"


/* cmocka group fixtures: *state is a cm_arena_t, a fresh one per test */
static inline int
cm_test_arena_setup(void **state)
{
    *state = cm_arena_create();
    return *state == NULL ? -1 : 0;
}


static inline int
cm_test_arena_teardown(void **state)
{
    cm_arena_destroy(*state);
    return 0;
}


#define cm_test(f)  cmocka_unit_test_setup_teardown(f, cm_test_arena_setup, \
                                                   cm_test_arena_teardown)

#define cm_test_alloc(state)  cm_arena_allocator(*(state))

#endif /* CM_TEST_H */

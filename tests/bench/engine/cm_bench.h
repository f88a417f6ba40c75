/*
 * What cm_bench_engine.c and cm_bench_vectorscan.c share.
 */

#ifndef _CM_BENCH_H_INCLUDED_
#define _CM_BENCH_H_INCLUDED_


#include <stddef.h>

#include "ngx_http_comment_moderation_engine.h"


#define CM_BENCH_MAX_REPS  101


double cm_bench_now_us(void);

/* sorts v */
double cm_bench_median(double *v, size_t n);

/* cm_bench_vectorscan.c, built when libvectorscan-dev is installed */
int cm_bench_vectorscan(const cm_rules_t *rules, cm_result_t *normalized,
    size_t n, size_t reps, size_t engine_fired);


#endif /* _CM_BENCH_H_INCLUDED_ */

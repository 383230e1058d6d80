/*
 * test_metrics.c — the daemon's counters in Prometheus text: every family has HELP and TYPE,
 * counters count, histogram buckets are cumulative and end in +Inf = count, label values are
 * escaped, the host label set is bounded; and metrics_listen addresses parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "metrics.h"
#include "conf.h"

static bool
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void
test_metrics_counts_and_renders(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    metrics_poll_done(m, METRICS_POLL_OK, 200, "a.example", 1000, 5, 0.2);
    metrics_poll_done(m, METRICS_POLL_OK, 200, "a.example", 500, 0, 2);
    metrics_poll_done(m, METRICS_POLL_NOT_MODIFIED, 304, "a.example", 0, 0, 0.05);
    metrics_poll_done(m, METRICS_POLL_ERROR, 503, "b.example", 10, 0, -1);
    metrics_poll_done(m, METRICS_POLL_ERROR, 0, "c\"x\\y.example", 0, 0, 7000);
    metrics_delivery(m, "notify", true, 0.3);
    metrics_delivery(m, "notify", false, -1);
    metrics_delivery(m, "web", true, 120);
    static const struct metrics_topic topics[] = {{"osce", 2}, {"ukraine-border", 1}};
    struct metrics_gauges g = {.topics = topics,
                               .n_topics = 2,
                               .feeds_ok = 3,
                               .feeds_failing = 1,
                               .items_total = 42,
                               .polls_active = 2,
                               .polls_waiting = 7,
                               .hooks_running = 1,
                               .alerts_pending = 4,
                               .rss_bytes = 12345678,
                               .uptime_s = 9.5};
    char *text = metrics_render(m, &g);
    assert_non_null(text);

    assert_true(has_line(text, "# TYPE feedwatch_polls_total counter"));
    assert_true(has_line(text, "feedwatch_polls_total{outcome=\"ok\"} 2"));
    assert_true(has_line(text, "feedwatch_polls_total{outcome=\"not_modified\"} 1"));
    assert_true(has_line(text, "feedwatch_polls_total{outcome=\"error\"} 2"));
    assert_true(has_line(text, "feedwatch_http_responses_total{class=\"2xx\"} 2"));
    assert_true(has_line(text, "feedwatch_http_responses_total{class=\"3xx\"} 1"));
    assert_true(has_line(text, "feedwatch_http_responses_total{class=\"5xx\"} 1"));
    assert_true(has_line(text, "feedwatch_http_responses_total{class=\"none\"} 1"));
    assert_true(has_line(text, "feedwatch_fetched_bytes_total 1510"));
    assert_true(has_line(text, "feedwatch_items_new_total 5"));
    /* lag: 0.05 and 0.2 in the first buckets, 2 in le=5, 7000 only in +Inf; -1 not observed */
    assert_true(has_line(text, "feedwatch_poll_lag_seconds_bucket{le=\"0.1\"} 1"));
    assert_true(has_line(text, "feedwatch_poll_lag_seconds_bucket{le=\"0.5\"} 2"));
    assert_true(has_line(text, "feedwatch_poll_lag_seconds_bucket{le=\"5\"} 3"));
    assert_true(has_line(text, "feedwatch_poll_lag_seconds_bucket{le=\"3600\"} 3"));
    assert_true(has_line(text, "feedwatch_poll_lag_seconds_bucket{le=\"+Inf\"} 4"));
    assert_true(has_line(text, "feedwatch_poll_lag_seconds_count 4"));
    assert_true(has_line(text, "feedwatch_host_errors_total{host=\"b.example\"} 1"));
    assert_true(has_line(text, "feedwatch_host_errors_total{host=\"c\\\"x\\\\y.example\"} 1"));
    assert_true(has_line(text, "feedwatch_alerts_total{topic=\"osce\"} 2"));
    assert_true(has_line(text, "feedwatch_alerts_total{topic=\"ukraine-border\"} 1"));
    assert_true(
        has_line(text, "feedwatch_hook_deliveries_total{hook=\"notify\",outcome=\"delivered\"} 1"));
    assert_true(
        has_line(text, "feedwatch_hook_deliveries_total{hook=\"notify\",outcome=\"failed\"} 1"));
    assert_true(
        has_line(text, "feedwatch_delivery_latency_seconds_bucket{hook=\"web\",le=\"60\"} 0"));
    assert_true(
        has_line(text, "feedwatch_delivery_latency_seconds_bucket{hook=\"web\",le=\"300\"} 1"));
    assert_true(
        has_line(text, "feedwatch_delivery_latency_seconds_bucket{hook=\"web\",le=\"+Inf\"} 1"));
    assert_true(has_line(text, "feedwatch_feeds{state=\"ok\"} 3"));
    assert_true(has_line(text, "feedwatch_feeds{state=\"failing\"} 1"));
    assert_true(has_line(text, "feedwatch_queue_length{queue=\"polls_waiting\"} 7"));
    assert_true(has_line(text, "feedwatch_resident_memory_bytes 12345678"));
    assert_true(has_line(text, "feedwatch_items 42"));
    /* Every sample's family was announced with HELP and TYPE (a histogram's samples carry
     * _bucket, _sum and _count after its name). */
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (*p != '#') {
            char base[128], probe[192];
            size_t n = strcspn(p, "{ ");
            assert_true(n < sizeof(base));
            memcpy(base, p, n);
            base[n] = '\0';
            static const char *const sfx[] = {"_bucket", "_sum", "_count"};
            for (size_t k = 0; k < 3; k++) {
                size_t sl = strlen(sfx[k]);
                if (n > sl && strcmp(base + n - sl, sfx[k]) == 0) {
                    (void)snprintf(probe, sizeof(probe), "# TYPE %.*s histogram\n", (int)(n - sl),
                                   base);
                    if (strstr(text, probe))
                        base[n - sl] = '\0';
                }
            }
            (void)snprintf(probe, sizeof(probe), "# HELP %s ", base);
            if (!strstr(text, probe))
                fail_msg("no HELP for %s", base);
            (void)snprintf(probe, sizeof(probe), "# TYPE %s ", base);
            if (!strstr(text, probe))
                fail_msg("no TYPE for %s", base);
        }
        p = nl + 1;
    }
    free(text);
    metrics_free(m);
}

static void
test_metrics_host_labels_are_bounded(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    char host[64];
    for (int i = 0; i < METRICS_HOSTS_MAX + 50; i++) {
        (void)snprintf(host, sizeof(host), "h%d.example", i);
        metrics_poll_done(m, METRICS_POLL_ERROR, 500, host, 0, 0, -1);
    }
    struct metrics_gauges g = {0};
    char *text = metrics_render(m, &g);
    size_t hosts = 0;
    for (const char *p = text; (p = strstr(p, "feedwatch_host_errors_total{host=")); p++)
        hosts++;
    assert_int_equal(hosts, METRICS_HOSTS_MAX + 1);
    assert_true(has_line(text, "feedwatch_host_errors_total{host=\"other\"} 50"));
    free(text);
    metrics_free(m);
}

static void
test_metrics_listen_parse(void **state)
{
    (void)state;
    struct sockaddr_storage a;
    assert_int_equal(conf_parse_listen("127.0.0.1:9464", &a), 0);
    assert_int_equal(a.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a)->sin_port), 9464);
    assert_int_equal(conf_parse_listen("[::1]:80", &a), 0);
    assert_int_equal(a.ss_family, AF_INET6);
    assert_int_equal(conf_parse_listen("0.0.0.0:1", &a), 0);
    static const char *const bad[] = {"",
                                      "127.0.0.1",
                                      "127.0.0.1:",
                                      "127.0.0.1:0",
                                      "127.0.0.1:65536",
                                      "localhost:9464",
                                      "::1:9464",
                                      "[::1]9464",
                                      "[::1]:",
                                      "127.0.0.1:94x",
                                      ":9464",
                                      "127.0.0.1:-1",
                                      "[127.0.0.1]:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (conf_parse_listen(bad[i], &a) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_counts_and_renders),
        cmocka_unit_test(test_metrics_host_labels_are_bounded),
        cmocka_unit_test(test_metrics_listen_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

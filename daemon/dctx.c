/*
 * dctx.c — the daemon's shared services (dctx.h): the topics pinned by writer jobs.
 */
#include "dctx.h"

#include <stdlib.h>

#include "alerts.h"
#include "conf.h"

/* Topics pinned by writer jobs: freed by the last unpin once a reload retired them. */
struct topics_pin {
    struct alerts *alerting;
    struct conf *conf; /* the config they point into, once retired */
    unsigned refs;
    bool retired;
};

struct topics_pin *
dctx_topics_pin(struct dctx *d)
{
    if (!d->topics_pin) {
        d->topics_pin = calloc(1, sizeof(*d->topics_pin));
        if (!d->topics_pin)
            return NULL;
        d->topics_pin->alerting = d->alerting;
    }
    d->topics_pin->refs++;
    return d->topics_pin;
}

struct alerts *
dctx_topics_alerting(const struct topics_pin *pin)
{
    return pin->alerting;
}

void
dctx_topics_unpin(struct topics_pin *pin)
{
    if (!pin || --pin->refs > 0 || !pin->retired)
        return;
    alerts_free(pin->alerting);
    conf_free(pin->conf);
    free(pin);
}

/* Poll memory was released (feedpoll.c): tells poll_memory_released, when set. */
void
dctx_poll_memory_released(struct dctx *d)
{
    if (d->poll_memory_released)
        d->poll_memory_released(d->poll_memory_released_ctx);
}

/*
 * A reload replaces the topics (and their config): freed now unless writer jobs still
 * match with them, then by the last of those.
 */
void
dctx_topics_retire(struct dctx *d, struct conf *old_conf)
{
    struct topics_pin *pin = d->topics_pin;
    d->topics_pin = NULL;
    if (pin && pin->refs > 0) {
        pin->retired = true;
        pin->conf = old_conf;
        return;
    }
    free(pin);
    alerts_free(d->alerting);
    conf_free(old_conf);
}

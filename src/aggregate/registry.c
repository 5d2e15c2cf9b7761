/*
 * registry.c - The metrics registry: metric families, bounded series per
 * family, and lock-free updates into per-thread cache-line-padded cells.
 * The update functions never lock, allocate or make system calls after a
 * thread's first update (which takes a thread slot).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <postprof/error.h>
#include <postprof/log.h>

#include "aggregate/registry_impl.h"

/* ---- thread slots ---------------------------------------------------- */

static _Atomic uint32_t slots_used;
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static _Thread_local unsigned tl_slot; /* slot + 1; 0 = not yet taken */

/* Thread exit: give the slot back. Updates made later in this thread (from
 * other exit destructors) go to the shared cell, never to a reused slot. */
static void slot_release(void *arg)
{
    uintptr_t slot = (uintptr_t)arg - 1;
    tl_slot = PP__METRIC_SLOTS + 1;
    if (slot < PP__METRIC_SLOTS)
        atomic_fetch_and_explicit(&slots_used, ~(UINT32_C(1) << slot), memory_order_release);
}

static void slot_key_init(void)
{
    if (pthread_key_create(&slot_key, slot_release) != 0)
        atomic_store(&slots_used, UINT32_MAX); /* no key: every thread uses the shared cell */
}

static unsigned slot_take(void)
{
    pthread_once(&slot_once, slot_key_init);
    uint32_t used = atomic_load_explicit(&slots_used, memory_order_relaxed);
    unsigned slot = PP__METRIC_SLOTS;
    while ((used & 0xffffu) != 0xffffu) {
        unsigned i = (unsigned)__builtin_ctz(~used);
        if (atomic_compare_exchange_weak_explicit(&slots_used, &used, used | (UINT32_C(1) << i),
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            if (pthread_setspecific(slot_key, (void *)(uintptr_t)(i + 1)) != 0) {
                atomic_fetch_and_explicit(&slots_used, ~(UINT32_C(1) << i), memory_order_release);
                break;
            }
            slot = i;
            break;
        }
    }
    tl_slot = slot + 1;
    return slot;
}

static inline unsigned my_slot(void)
{
    unsigned s = tl_slot;
    if (PP_LIKELY(s != 0))
        return s - 1;
    return slot_take();
}

/* Add v to a double cell: plain load+store on the owner's slot, CAS on the shared one. */
static inline void cell_add_double(_Atomic uint64_t *c, double v, int shared)
{
    if (PP_LIKELY(!shared)) {
        double cur = pp__bits_to_double(atomic_load_explicit(c, memory_order_relaxed));
        atomic_store_explicit(c, pp__double_to_bits(cur + v), memory_order_relaxed);
        return;
    }
    uint64_t old = atomic_load_explicit(c, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(c, &old,
                                                  pp__double_to_bits(pp__bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static inline void cell_add_u64(_Atomic uint64_t *c, int shared)
{
    if (PP_LIKELY(!shared))
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- updates --------------------------------------------------------- */

void pp_series_inc(pp_series *s)
{
    pp_series_add(s, 1.0);
}

void pp_series_add(pp_series *s, double v)
{
    if (!s)
        return;
    if (s->metric->kind == PP_METRIC_GAUGE) {
        cell_add_double(&s->cells[0], v, 1);
        return;
    }
    if (s->metric->kind != PP_METRIC_COUNTER || !(v >= 0.0))
        return;
    unsigned slot = my_slot();
    cell_add_double(&s->cells[slot * s->stride], v, slot == PP__METRIC_SLOTS);
}

void pp_series_set(pp_series *s, double v)
{
    if (s && s->metric->kind == PP_METRIC_GAUGE)
        atomic_store_explicit(&s->cells[0], pp__double_to_bits(v), memory_order_relaxed);
}

void pp_series_observe(pp_series *s, double v)
{
    if (!s || s->metric->kind != PP_METRIC_HISTOGRAM)
        return;
    const struct pp_metric *m = s->metric;
    size_t i = 0, n = m->nbounds;
    if (PP_UNLIKELY(isnan(v)))
        i = n;
    else
        while (i < n && v > m->bounds[i])
            i++;
    unsigned slot = my_slot();
    int shared = slot == PP__METRIC_SLOTS;
    _Atomic uint64_t *c = &s->cells[slot * s->stride];
    cell_add_u64(&c[i], shared);
    cell_add_double(&c[n + 1], v, shared);
}

void pp_series_mirror_counter(pp_series *s, double total)
{
    if (s && s->metric->kind == PP_METRIC_COUNTER)
        atomic_store_explicit(&s->cells[PP__METRIC_SLOTS * s->stride], pp__double_to_bits(total),
                              memory_order_relaxed);
}

void pp_series_mirror_histogram(pp_series *s, const uint64_t *cumulative, size_t nbounds,
                                uint64_t count, double sum)
{
    if (!s || s->metric->kind != PP_METRIC_HISTOGRAM || nbounds != s->metric->nbounds ||
        (nbounds && !cumulative))
        return;
    _Atomic uint64_t *c = &s->cells[PP__METRIC_SLOTS * s->stride];
    uint64_t prev = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        uint64_t cum = i < nbounds ? cumulative[i] : count;
        if (cum < prev)
            cum = prev; /* keep buckets monotonic whatever the source says */
        atomic_store_explicit(&c[i], cum - prev, memory_order_relaxed);
        prev = cum;
    }
    atomic_store_explicit(&c[nbounds + 1], pp__double_to_bits(sum), memory_order_relaxed);
}

/* ---- reads ----------------------------------------------------------- */

void pp__series_read_hist(const struct pp_series *s, uint64_t *out_buckets, double *out_sum)
{
    size_t n = s->metric->nbounds + 1;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        out_buckets[i] = 0;
    for (size_t k = 0; k < s->nslots; k++) {
        _Atomic uint64_t *c = &s->cells[k * s->stride];
        for (size_t i = 0; i < n; i++)
            out_buckets[i] += atomic_load_explicit(&c[i], memory_order_relaxed);
        sum += pp__bits_to_double(atomic_load_explicit(&c[n], memory_order_relaxed));
    }
    *out_sum = sum;
}

double pp_series_value(const pp_series *s)
{
    if (!s)
        return 0;
    if (s->metric->kind == PP_METRIC_HISTOGRAM) {
        uint64_t b[PP_METRICS_MAX_BUCKETS + 1];
        double sum;
        pp__series_read_hist(s, b, &sum);
        return sum;
    }
    double v = 0;
    for (size_t k = 0; k < s->nslots; k++)
        v += pp__bits_to_double(
            atomic_load_explicit(&s->cells[k * s->stride], memory_order_relaxed));
    return v;
}

uint64_t pp_series_count(const pp_series *s)
{
    if (!s || s->metric->kind != PP_METRIC_HISTOGRAM)
        return 0;
    uint64_t b[PP_METRICS_MAX_BUCKETS + 1], n = 0;
    double sum;
    pp__series_read_hist(s, b, &sum);
    for (size_t i = 0; i <= s->metric->nbounds; i++)
        n += b[i];
    return n;
}

/* ---- validation ------------------------------------------------------ */

int pp__utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

static int valid_name(const char *s, int colon)
{
    if (!s || !*s || strlen(s) > 200)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(p != s && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static int valid_label_name(const char *s)
{
    return valid_name(s, 0) && strncmp(s, "__", 2) != 0 && strcmp(s, "le") != 0;
}

/* ---- registry -------------------------------------------------------- */

static void series_free(struct pp_series *s, size_t nlabels)
{
    if (!s)
        return;
    if (s->values)
        for (size_t i = 0; i < nlabels; i++)
            free(s->values[i]);
    free(s->values);
    free(s->labels_text);
    free(s->cells);
    free(s);
}

static void metric_free(struct pp_metric *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nseries; i++)
        series_free(m->series[i], m->nlabels);
    free(m->series);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->label_names[i]);
    free(m->name);
    free(m->help);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void pp_registry_free(pp_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nhooks; i++)
        if (r->hooks[i].release)
            r->hooks[i].release(r->hooks[i].ctx);
    size_t n = atomic_load(&r->nmetrics);
    for (size_t i = 0; i < n; i++)
        metric_free(r->metrics[i]);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->render_lock);
    free(r);
}

int pp_registry_new(const pp_registry_config *cfg, pp_registry **out)
{
    int rc = PP_ENOMEM;
    pp_registry *r = NULL;
    pp_metric *m = NULL;
    if (!out)
        return PP_EINVAL;
    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        goto out;
    r->max_series = cfg && cfg->max_series ? cfg->max_series : PP_METRICS_DEFAULT_MAX_SERIES;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->render_lock, NULL);
    rc = pp_registry_counter(r, "postprof_series_dropped_total",
                             "Label sets refused because their metric held its maximum of series.",
                             0, NULL, &m);
    if (rc != PP_OK)
        goto out;
    rc = pp_metric_series(m, NULL, &r->dropped);
    if (rc != PP_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    pp_registry_free(r);
    return rc;
}

pp_metric *pp_registry_find(pp_registry *r, const char *name)
{
    if (!r || !name)
        return NULL;
    size_t n = atomic_load_explicit(&r->nmetrics, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->metrics[i]->name, name) == 0)
            return r->metrics[i];
    return NULL;
}

static int same_shape(const struct pp_metric *m, int kind, size_t nlabels,
                      const char *const *label_names, const double *bounds, size_t nbounds)
{
    if (m->kind != kind || m->nlabels != nlabels || m->nbounds != nbounds)
        return 0;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(m->label_names[i], label_names[i]) != 0)
            return 0;
    for (size_t i = 0; i < nbounds; i++)
        if (m->bounds[i] != bounds[i])
            return 0;
    return 1;
}

/* Shortest text that reads back as v, with ".0" on integers (le label values). */
static void format_bound(char *out, size_t cap, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (!strpbrk(out, ".eEn"))
        strncat(out, ".0", cap - strlen(out) - 1);
}

static int metric_new(pp_registry *r, int kind, const char *name, const char *help, size_t nlabels,
                      const char *const *label_names, const double *bounds, size_t nbounds,
                      pp_metric **out)
{
    int rc = PP_EINVAL;
    struct pp_metric *m = NULL;
    int locked = 0;
    if (out)
        *out = NULL;
    if (!r || !out || !valid_name(name, 1) || nlabels > PP_METRICS_MAX_LABELS ||
        (nlabels && !label_names) || nbounds > PP_METRICS_MAX_BUCKETS || (nbounds && !bounds))
        goto out;
    if (kind == PP_METRIC_COUNTER &&
        (strlen(name) < 7 || strcmp(name + strlen(name) - 6, "_total") != 0))
        goto out;
    for (size_t i = 0; i < nlabels; i++)
        if (!valid_label_name(label_names[i]))
            goto out;
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            goto out;
    if (help && !pp__utf8_valid(help, strlen(help)))
        goto out;

    pthread_mutex_lock(&r->lock);
    locked = 1;
    pp_metric *old = pp_registry_find(r, name);
    if (old) {
        rc = same_shape(old, kind, nlabels, label_names, bounds, nbounds) ? PP_OK : PP_EEXIST;
        if (rc == PP_OK)
            *out = old;
        goto out;
    }
    rc = PP_EFULL;
    if (atomic_load(&r->nmetrics) >= PP_METRICS_MAX_METRICS)
        goto out;
    rc = PP_ENOMEM;
    m = calloc(1, sizeof *m);
    if (!m)
        goto out;
    pthread_mutex_init(&m->lock, NULL);
    m->registry = r;
    m->kind = kind;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    if (!m->name || !m->help)
        goto out;
    for (size_t i = 0; i < nlabels; i++) {
        m->label_names[i] = strdup(label_names[i]);
        if (!m->label_names[i])
            goto out;
        m->nlabels = i + 1;
    }
    m->nbounds = nbounds;
    for (size_t i = 0; i < nbounds; i++) {
        m->bounds[i] = bounds[i];
        format_bound(m->bound_text[i], sizeof m->bound_text[i], bounds[i]);
    }
    r->metrics[atomic_load(&r->nmetrics)] = m;
    atomic_fetch_add_explicit(&r->nmetrics, 1, memory_order_release);
    *out = m;
    m = NULL;
    rc = PP_OK;
out:
    if (locked)
        pthread_mutex_unlock(&r->lock);
    metric_free(m);
    return rc;
}

int pp_registry_counter(pp_registry *r, const char *name, const char *help, size_t nlabels,
                        const char *const *label_names, pp_metric **out)
{
    return metric_new(r, PP_METRIC_COUNTER, name, help, nlabels, label_names, NULL, 0, out);
}

int pp_registry_gauge(pp_registry *r, const char *name, const char *help, size_t nlabels,
                      const char *const *label_names, pp_metric **out)
{
    return metric_new(r, PP_METRIC_GAUGE, name, help, nlabels, label_names, NULL, 0, out);
}

int pp_registry_histogram(pp_registry *r, const char *name, const char *help, size_t nlabels,
                          const char *const *label_names, const double *bounds, size_t nbounds,
                          pp_metric **out)
{
    return metric_new(r, PP_METRIC_HISTOGRAM, name, help, nlabels, label_names, bounds, nbounds,
                      out);
}

int pp_metric_kind(const pp_metric *m)
{
    return m ? m->kind : 0;
}

size_t pp_metric_series_count(pp_metric *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->nseries;
    pthread_mutex_unlock(&m->lock);
    return n;
}

static uint64_t hash_values(size_t n, const char *const *values)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

/* `name="escaped value"` pairs joined by commas. */
static char *labels_text(const struct pp_metric *m, const char *const *values, size_t *out_len)
{
    size_t cap = 1;
    for (size_t i = 0; i < m->nlabels; i++)
        cap += strlen(m->label_names[i]) + 4 + 2 * strlen(values[i]);
    char *t = malloc(cap), *p = t;
    if (!t)
        return NULL;
    for (size_t i = 0; i < m->nlabels; i++) {
        if (i)
            *p++ = ',';
        size_t nl = strlen(m->label_names[i]);
        memcpy(p, m->label_names[i], nl);
        p += nl;
        *p++ = '=';
        *p++ = '"';
        for (const char *v = values[i]; *v; v++) {
            if (*v == '\\' || *v == '"') {
                *p++ = '\\';
                *p++ = *v;
            } else if (*v == '\n') {
                *p++ = '\\';
                *p++ = 'n';
            } else {
                *p++ = *v;
            }
        }
        *p++ = '"';
    }
    *p = '\0';
    *out_len = (size_t)(p - t);
    return t;
}

static struct pp_series *series_new(struct pp_metric *m, const char *const *values, uint64_t h)
{
    struct pp_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->metric = m;
    s->hash = h;
    size_t ncells = m->kind == PP_METRIC_HISTOGRAM ? m->nbounds + 2 : 1;
    s->stride = (ncells + 7) & ~(size_t)7;
    s->nslots = m->kind == PP_METRIC_GAUGE ? 1 : PP__METRIC_CELLS;
    size_t bytes = s->nslots * s->stride * sizeof(uint64_t);
    s->cells = aligned_alloc(64, bytes);
    s->values = calloc(m->nlabels ? m->nlabels : 1, sizeof *s->values);
    s->labels_text = labels_text(m, values, &s->labels_len);
    if (!s->cells || !s->values || !s->labels_text)
        goto fail;
    for (size_t i = 0; i < s->nslots * s->stride; i++)
        atomic_init(&s->cells[i], 0); /* 0 bits are 0.0 as well */
    for (size_t i = 0; i < m->nlabels; i++) {
        s->values[i] = strdup(values[i]);
        if (!s->values[i])
            goto fail;
    }
    return s;
fail:
    series_free(s, m->nlabels);
    return NULL;
}

int pp_metric_series(pp_metric *m, const char *const *values, pp_series **out)
{
    int rc = PP_EINVAL;
    if (out)
        *out = NULL;
    if (!m || !out || (m->nlabels && !values))
        return PP_EINVAL;
    for (size_t i = 0; i < m->nlabels; i++) {
        size_t n = values[i] ? strlen(values[i]) : 0;
        if (!values[i] || n > PP_METRICS_MAX_LABEL_VALUE || !pp__utf8_valid(values[i], n))
            return PP_EINVAL;
    }
    uint64_t h = hash_values(m->nlabels, values);
    pthread_mutex_lock(&m->lock);
    for (struct pp_series *s = m->hash[h % PP__METRIC_HASH]; s; s = s->hash_next) {
        if (s->hash != h)
            continue;
        size_t i = 0;
        while (i < m->nlabels && strcmp(s->values[i], values[i]) == 0)
            i++;
        if (i == m->nlabels) {
            *out = s;
            rc = PP_OK;
            goto out;
        }
    }
    if (m->nseries >= m->registry->max_series) {
        rc = PP_EFULL;
        pp_series_inc(m->registry->dropped);
        if (!atomic_exchange(&m->overflow_logged, 1))
            pp_log(PP_LOG_WARN, "metrics", "series_dropped", "metric", m->name, "reason",
                   "too many label sets (cardinality limit reached)", NULL);
        goto out;
    }
    rc = PP_ENOMEM;
    if (m->nseries == m->cap_series) {
        size_t cap = m->cap_series ? m->cap_series * 2 : 4;
        struct pp_series **grown = realloc(m->series, cap * sizeof *grown);
        if (!grown)
            goto out;
        m->series = grown;
        m->cap_series = cap;
    }
    struct pp_series *s = series_new(m, values, h);
    if (!s)
        goto out;
    s->hash_next = m->hash[h % PP__METRIC_HASH];
    m->hash[h % PP__METRIC_HASH] = s;
    m->series[m->nseries++] = s;
    *out = s;
    rc = PP_OK;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int pp_registry_add_hook(pp_registry *r, pp_registry_hook fn, void *ctx, void (*release)(void *ctx))
{
    int rc = PP_EINVAL;
    if (r && fn) {
        rc = PP_EFULL;
        pthread_mutex_lock(&r->render_lock);
        if (r->nhooks < PP__METRIC_MAX_HOOKS) {
            r->hooks[r->nhooks].fn = fn;
            r->hooks[r->nhooks].ctx = ctx;
            r->hooks[r->nhooks].release = release;
            r->nhooks++;
            rc = PP_OK;
        }
        pthread_mutex_unlock(&r->render_lock);
    }
    if (rc != PP_OK && release)
        release(ctx);
    return rc;
}

void pp__registry_run_hooks(pp_registry *r)
{
    for (size_t i = 0; i < r->nhooks; i++)
        r->hooks[i].fn(r, r->hooks[i].ctx);
}

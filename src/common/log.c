/*
 * log.c - Structured logger: text or JSON lines, one mutex around the sink,
 * and a small ring of recent lines for crash reports.
 * Never allocates per line beyond a bounded stack buffer; long lines are cut.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <postprof/log.h>

#include "common/strbuf.h"
#include "log_impl.h"

#define LINE_MAX_BYTES 4096
#define RING_BYTES 8192

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int cur_level = PP_LOG_WARN;
static _Atomic int cur_format = PP_LOG_TEXT;
static FILE *stream; /* NULL means stderr */
static char ring[RING_BYTES];
static size_t ring_pos;
static int ring_full;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void pp_log_set_level(int level)
{
    if (level >= PP_LOG_DEBUG && level <= PP_LOG_OFF)
        atomic_store(&cur_level, level);
}

int pp_log_get_level(void)
{
    return atomic_load(&cur_level);
}

void pp_log_set_format(int format)
{
    atomic_store(&cur_format, format == PP_LOG_JSON ? PP_LOG_JSON : PP_LOG_TEXT);
}

void pp_log_set_stream(FILE *f)
{
    pthread_mutex_lock(&lock);
    stream = f;
    pthread_mutex_unlock(&lock);
}

int pp_log_parse_level(const char *s)
{
    for (int i = 0; s && i <= PP_LOG_OFF; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (s && strcasecmp(s, "warning") == 0)
        return PP_LOG_WARN;
    return -1;
}

typedef struct {
    char *p;
    size_t len, cap;
} linebuf;

static void put(linebuf *b, const char *s, size_t n)
{
    if (b->len + n >= b->cap)
        n = b->cap - 1 - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(linebuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_json_str(linebuf *b, const char *s)
{
    char esc[7];
    put(b, "\"", 1);
    for (; *s; s++) {
        size_t n = pp__json_escape_byte((unsigned char)*s, 0, esc);
        if (n)
            put(b, esc, n);
        else
            put(b, s, 1);
    }
    put(b, "\"", 1);
}

static void timestamp(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts); /* wall-clock time of day for the line, not an interval */
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void ring_add(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ring[ring_pos++] = s[i];
        if (ring_pos == RING_BYTES) {
            ring_pos = 0;
            ring_full = 1;
        }
    }
}

void pp_log(int level, const char *component, const char *event, ...)
{
    if (level < atomic_load_explicit(&cur_level, memory_order_relaxed) || level >= PP_LOG_OFF ||
        level < 0)
        return;
    char tbuf[40], jbuf[LINE_MAX_BYTES], xbuf[LINE_MAX_BYTES];
    linebuf j = {jbuf, 0, sizeof jbuf}, x = {xbuf, 0, sizeof xbuf};
    timestamp(tbuf, sizeof tbuf);
    const char *lv = level_names[level];
    const char *comp = component ? component : "postprof";
    const char *ev = event ? event : "event";

    puts_(&j, "{\"ts\":\"");
    puts_(&j, tbuf);
    puts_(&j, "\",\"level\":\"");
    puts_(&j, lv);
    puts_(&j, "\",\"event\":");
    put_json_str(&j, ev);
    puts_(&j, ",\"component\":");
    put_json_str(&j, comp);

    char lvpad[8];
    snprintf(lvpad, sizeof lvpad, "%-5s", lv);
    for (char *c = lvpad; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    puts_(&x, tbuf);
    puts_(&x, " ");
    puts_(&x, lvpad);
    puts_(&x, " ");
    puts_(&x, comp);
    puts_(&x, ": ");
    puts_(&x, ev);

    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        puts_(&j, ",");
        put_json_str(&j, k);
        puts_(&j, ":");
        if (v)
            put_json_str(&j, v);
        else
            puts_(&j, "null");
        puts_(&x, " ");
        puts_(&x, k);
        puts_(&x, "=");
        int quote = v && (strchr(v, ' ') || strchr(v, '"') || !*v);
        if (quote)
            put_json_str(&x, v);
        else
            puts_(&x, v ? v : "null");
    }
    va_end(ap);
    puts_(&j, "}");
    /* room for the newline was kept by put() (len < cap - 1 always) */
    j.p[j.len++] = '\n';
    x.p[x.len++] = '\n';

    pthread_mutex_lock(&lock);
    FILE *f = stream ? stream : stderr;
    if (atomic_load_explicit(&cur_format, memory_order_relaxed) == PP_LOG_JSON)
        fwrite(j.p, 1, j.len, f);
    else
        fwrite(x.p, 1, x.len, f);
    fflush(f);
    ring_add(x.p, x.len);
    pthread_mutex_unlock(&lock);
}

size_t pp_log_recent(char *out, size_t cap)
{
    if (!out || cap == 0)
        return 0;
    pthread_mutex_lock(&lock);
    size_t n = 0;
    if (ring_full) {
        for (size_t i = ring_pos; i < RING_BYTES && n + 1 < cap; i++)
            out[n++] = ring[i];
    }
    for (size_t i = 0; i < ring_pos && n + 1 < cap; i++)
        out[n++] = ring[i];
    out[n] = '\0';
    pthread_mutex_unlock(&lock);
    return n;
}

size_t pp__log_recent_unlocked(char *out, size_t cap)
{
    size_t n = 0;
    if (!out || cap == 0)
        return 0;
    size_t pos = ring_pos;
    if (ring_full)
        for (size_t i = pos; i < RING_BYTES && n + 1 < cap; i++)
            out[n++] = ring[i];
    for (size_t i = 0; i < pos && n + 1 < cap; i++)
        out[n++] = ring[i];
    out[n] = '\0';
    return n;
}

/*
 * datagen.c - Deterministic generator of LinkedIn-style posts with a planted
 * engagement function, writing posts.db (SQLite), posts.jsonl and the trained
 * models. Same seed, same bytes: every choice comes from a per-post RNG and
 * no clock, address or thread order leaks into the output.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <postprof/file.h>
#include <postprof/scope.h>
#include <posts/config.h>
#include <posts/datagen.h>
#include <posts/model.h>
#include <posts/preprocess.h>

#include "internal.h"

/* ---- vocabulary ---------------------------------------------------------- */

#define NTOPICS 10
typedef struct topic {
    const char *name;
    double weight; /* planted effect on engagement */
    const char *en[8];
    const char *es[8];
    const char *tags[3];
} topic;

/* Spanish words use precomposed accents; some posts decompose them (NFD) so NFC matters. */
static const topic topics[NTOPICS] = {
    {"ai",
     1.5,
     {"model", "neural", "inference", "dataset", "llm", "gpu", "training", "agents"},
     {"modelo", "inteligencia", "datos", "entrenamiento", "red", "neuronal", "inferencia",
      "algoritmo"},
     {"AI", "MachineLearning", "GenAI"}},
    {"hiring",
     1.0,
     {"hiring", "role", "team", "apply", "join", "engineer", "remote", "opening"},
     {"contratando", "puesto", "equipo", "únete", "vacante", "ingeniera", "remoto", "postúlate"},
     {"Hiring", "Jobs", "Empleo"}},
    {"career",
     0.5,
     {"career", "promotion", "mentor", "growth", "lessons", "journey", "manager", "feedback"},
     {"carrera", "ascenso", "mentor", "crecimiento", "lecciones", "camino", "gerente", "aprendí"},
     {"Career", "Growth", "Liderazgo"}},
    {"launch",
     1.2,
     {"launch", "product", "release", "shipped", "customers", "beta", "announce", "feature"},
     {"lanzamiento", "producto", "versión", "clientes", "anunciamos", "función", "nuevo",
      "presentamos"},
     {"Launch", "Startup", "Lanzamiento"}},
    {"sales",
     -0.9,
     {"sales", "quota", "pipeline", "leads", "discount", "offer", "webinar", "demo"},
     {"ventas", "cuota", "clientes", "descuento", "oferta", "seminario", "promoción",
      "demostración"},
     {"Sales", "B2B", "Ventas"}},
    {"motivation",
     -0.2,
     {"monday", "mindset", "success", "believe", "hustle", "dream", "habits", "goals"},
     {"lunes", "mentalidad", "éxito", "cree", "esfuerzo", "sueño", "hábitos", "metas"},
     {"Motivation", "Mindset", "Motivación"}},
    {"football",
     -0.5,
     {"match", "goal", "league", "coach", "season", "fans", "stadium", "victory"},
     {"partido", "gol", "liga", "entrenador", "temporada", "afición", "estadio", "victoria"},
     {"Football", "Fútbol", "LaLiga"}},
    {"research",
     0.9,
     {"paper", "study", "results", "published", "experiment", "journal", "findings", "peer"},
     {"artículo", "estudio", "resultados", "publicado", "experimento", "revista", "hallazgos",
      "investigación"},
     {"Research", "Science", "Ciencia"}},
    {"event",
     0.2,
     {"conference", "talk", "speaker", "panel", "keynote", "meetup", "slides", "venue"},
     {"conferencia", "charla", "ponente", "mesa", "evento", "encuentro", "diapositivas", "sede"},
     {"Events", "Conference", "Evento"}},
    {"layoffs",
     -1.2,
     {"layoffs", "restructuring", "severance", "notice", "cuts", "budget", "difficult", "farewell"},
     {"despidos", "reestructuración", "indemnización", "aviso", "recortes", "presupuesto",
      "difícil", "despedida"},
     {"Layoffs", "OpenToWork", "Despidos"}},
};

static const char *const filler_en[] = {
    "the",    "and",      "with",  "today", "we",     "our",     "this",  "week",  "really",
    "proud",  "share",    "about", "great", "new",    "people",  "work",  "time",  "year",
    "thanks", "everyone", "what",  "think", "how",    "more",    "first", "after", "years",
    "world",  "small",    "big",   "every", "day",    "learned", "from",  "some",  "here",
    "are",    "thoughts", "on",    "why",   "matters"};
static const char *const filler_es[] = {
    "el",      "la",      "y",           "con",       "hoy",         "nuestro", "esta",
    "semana",  "muy",     "orgulloso",   "compartir", "sobre",       "gran",    "nueva",
    "gente",   "trabajo", "tiempo",      "año",       "gracias",     "todos",   "qué",
    "pienso",  "cómo",    "más",         "primera",   "después",     "años",    "mundo",
    "pequeño", "día",     "aquí",        "están",     "reflexiones", "por",     "importa",
    "también", "mañana",  "información", "niños",     "diseño",      "señal"};
#define NFILL_EN (sizeof filler_en / sizeof *filler_en)
#define NFILL_ES (sizeof filler_es / sizeof *filler_es)

static const char *const emoji[] = {"\xf0\x9f\x9a\x80", "\xf0\x9f\x8e\x89",
                                    "\xf0\x9f\x94\xa5", "\xf0\x9f\x92\xa1",
                                    "\xf0\x9f\x91\x8f", "\xe2\x9c\xa8",
                                    "\xf0\x9f\x99\x8c", "\xe2\x9a\xbd",
                                    "\xf0\x9f\x93\x88", "\xe2\x9d\xa4\xef\xb8\x8f"};
#define NEMOJI (sizeof emoji / sizeof *emoji)

static const char *const names[] = {"ana",   "luis",   "maria", "john", "sofia", "wei",
                                    "priya", "carlos", "emma",  "noah", "lucia", "omar"};
#define NNAMES (sizeof names / sizeof *names)

static const double media_w[POSTS_MEDIA_COUNT] = {0.0, 0.4, 0.9, -0.2, 0.5};

/* ---- text building ------------------------------------------------------- */

typedef posts__sbuf sbuf;

static void sb_add(sbuf *s, const char *t, size_t len)
{
    posts__sbuf_add(s, t, len);
}

static void sb_str(sbuf *s, const char *t)
{
    sb_add(s, t, strlen(t));
}

/* Append word; with decompose, write precomposed Latin-1 accents as base + combining mark (NFD). */
static void sb_word(sbuf *s, const char *w, int decompose, int capital)
{
    const unsigned char *u = (const unsigned char *)w;
    for (size_t i = 0; u[i]; i++) {
        if (capital && i == 0 && u[i] >= 'a' && u[i] <= 'z') {
            char c = (char)(u[i] - 32);
            sb_add(s, &c, 1);
            continue;
        }
        if (decompose && u[i] == 0xc3 && u[i + 1]) {
            static const char base_of[64] =
                "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";
            static const char *const mark_of[64] = {
                "\xcc\x80", "\xcc\x81", "\xcc\x82", "\xcc\x83", "\xcc\x88", NULL,       NULL,
                NULL,       "\xcc\x80", "\xcc\x81", "\xcc\x82", "\xcc\x88", "\xcc\x80", "\xcc\x81",
                "\xcc\x82", "\xcc\x88", NULL,       "\xcc\x83", "\xcc\x80", "\xcc\x81", "\xcc\x82",
                "\xcc\x83", "\xcc\x88", NULL,       NULL,       "\xcc\x80", "\xcc\x81", "\xcc\x82",
                "\xcc\x88", NULL,       NULL,       NULL,       "\xcc\x80", "\xcc\x81", "\xcc\x82",
                "\xcc\x83", "\xcc\x88", NULL,       NULL,       NULL,       "\xcc\x80", "\xcc\x81",
                "\xcc\x82", "\xcc\x88", "\xcc\x80", "\xcc\x81", "\xcc\x82", "\xcc\x88", NULL,
                "\xcc\x83", "\xcc\x80", "\xcc\x81", "\xcc\x82", "\xcc\x83", "\xcc\x88", NULL,
                NULL,       "\xcc\x80", "\xcc\x81", "\xcc\x82", "\xcc\x88", NULL,       NULL,
                NULL};
            unsigned k = (unsigned)(u[i + 1] - 0x80);
            if (k < 64 && mark_of[k]) {
                sb_add(s, &base_of[k], 1);
                sb_str(s, mark_of[k]);
                i++;
                continue;
            }
        }
        sb_add(s, (const char *)&u[i], 1);
    }
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* Followers of an author: a fixed function of seed and author id. */
static int64_t followers_of(uint64_t seed, int64_t author)
{
    posts__rng r = {posts__mix64(seed ^ 0xa5a5a5a5ull) ^ (uint64_t)author * 0x9e3779b97f4a7c15ull};
    double u = posts__rng_unit(&r);
    return (int64_t)floor(pow(10.0, 1.0 + 4.5 * u));
}

int posts_datagen_post(uint64_t seed, int64_t id, posts_post *out)
{
    posts__rng r = {posts__mix64(seed) ^ posts__mix64((uint64_t)id * 0x9e3779b97f4a7c15ull)};
    sbuf s = {0};
    memset(out, 0, sizeof *out);
    out->id = id;
    double u = posts__rng_unit(&r);
    out->author_id = 1 + (int64_t)floor(5000.0 * u * u);
    out->author_followers = followers_of(seed, out->author_id);
    out->created_at = 1735689600 + (int64_t)posts__rng_below(&r, 365ull * 86400ull);
    int es = posts__rng_unit(&r) < 0.3;
    memcpy(out->lang, es ? "es" : "en", 3);
    int t = (int)posts__rng_below(&r, NTOPICS);
    double mu = posts__rng_unit(&r);
    out->media = mu < 0.4    ? POSTS_MEDIA_NONE
                 : mu < 0.7  ? POSTS_MEDIA_IMAGE
                 : mu < 0.85 ? POSTS_MEDIA_VIDEO
                 : mu < 0.95 ? POSTS_MEDIA_ARTICLE
                             : POSTS_MEDIA_POLL;
    int very_long = posts__rng_unit(&r) < 0.01;
    int decompose = es && posts__rng_unit(&r) < 0.3;
    int question = posts__rng_unit(&r) < 0.2;
    int n_sent = very_long ? 60 + (int)posts__rng_below(&r, 90) : 1 + (int)posts__rng_below(&r, 4);
    const char *const *fill = es ? filler_es : filler_en;
    size_t nfill = es ? NFILL_ES : NFILL_EN;
    const char *const *tw = es ? topics[t].es : topics[t].en;
    for (int k = 0; k < n_sent; k++) {
        int last = k == n_sent - 1;
        if (last && question && es)
            sb_str(&s, "\xc2\xbf");
        int words = 5 + (int)posts__rng_below(&r, 10);
        for (int w = 0; w < words; w++) {
            const char *word = posts__rng_unit(&r) < 0.3 ? tw[posts__rng_below(&r, 8)]
                                                         : fill[posts__rng_below(&r, nfill)];
            if (w)
                sb_str(&s, " ");
            sb_word(&s, word, decompose, w == 0);
        }
        sb_str(&s, last && question ? "?" : (posts__rng_unit(&r) < 0.2 ? "!" : "."));
        sb_str(&s, posts__rng_unit(&r) < 0.4 ? "\n\n" : (posts__rng_unit(&r) < 0.5 ? "\n" : " "));
    }
    int n_emoji = (int)posts__rng_below(&r, 5) - 1;
    if (n_emoji < 0)
        n_emoji = 0;
    for (int k = 0; k < n_emoji; k++)
        sb_str(&s, emoji[posts__rng_below(&r, NEMOJI)]);
    if (n_emoji)
        sb_str(&s, " ");
    int mention = posts__rng_unit(&r) < 0.3;
    if (mention) {
        char m[64];
        snprintf(m, sizeof m, "@%s_%s ", names[posts__rng_below(&r, NNAMES)],
                 names[posts__rng_below(&r, NNAMES)]);
        sb_str(&s, m);
    }
    int url = posts__rng_unit(&r) < 0.25;
    if (url) {
        char m[64];
        static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        int l = snprintf(m, sizeof m, "https://lnkd.in/");
        for (int k = 0; k < 7; k++)
            m[l++] = alnum[posts__rng_below(&r, 36)];
        m[l++] = ' ';
        m[l] = '\0';
        sb_str(&s, m);
    }
    int ntags = (int)posts__rng_below(&r, 4);
    for (int k = 0; k < ntags; k++) {
        sb_str(&s, "#");
        sb_str(&s, topics[t].tags[posts__rng_below(&r, 3)]);
        if (k + 1 < ntags)
            sb_str(&s, " ");
    }
    if (s.oom || !s.p) {
        free(s.p);
        return PP_ENOMEM;
    }
    /* planted engagement */
    double z = -0.3 + 0.9 * (log10((double)out->author_followers + 1.0) - 2.8) + topics[t].weight +
               media_w[out->media] + 0.35 * (n_emoji < 3 ? n_emoji : 3) - 0.7 * url +
               0.6 * question - 1.0 * very_long + 0.9 * (out->media == POSTS_MEDIA_VIDEO && es) -
               0.8 * (es && t == 4);
    double nu = posts__rng_unit(&r);
    if (nu < 1e-9)
        nu = 1e-9;
    z += 0.7 * log(nu / (1.0 - nu)); /* logistic noise */
    int64_t base = out->author_followers + 50;
    int64_t weighted = (int64_t)llround(0.2 * sigmoid(z) * (double)base);
    out->shares = weighted / 15;
    out->comments = (weighted - 3 * out->shares) / 6;
    out->reactions = weighted - 3 * out->shares - 2 * out->comments;
    out->text = s.p;
    out->text_len = s.n;
    return PP_OK;
}

/* ---- writers ------------------------------------------------------------- */

void posts_datagen_opts_init(posts_datagen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->posts = 100000;
    o->seed = 42;
    o->out_dir = "data";
    o->train = 1;
}

static int write_sqlite(const posts_datagen_opts *o, const char *dir, posts_err *err)
{
    PP_SCOPE("posts.datagen.sqlite");
    char path[POSTS_PATH_MAX + 32];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    pp_file_out *fo = NULL;
    const char *tmp = "";
    posts_post p = {0};
    if (posts__join_path(path, sizeof path, dir, "posts.db")) {
        posts_err_set(err, "%s: path too long", dir);
        return PP_EINVAL;
    }
    /* SQLite writes the database by name: a temporary file renamed over posts.db */
    char why[POSTS_ERR_MAX];
    int rc = pp_file_out_open(path, PP_FILE_REPLACE, &fo, why, sizeof why);
    if (rc != PP_OK) {
        posts_err_set(err, "%s", why);
        return rc;
    }
    tmp = pp_file_out_temp_path(fo);
    rc = PP_EDB;
    if (sqlite3_open(tmp, &db) != SQLITE_OK)
        goto out;
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=4096;"
                     "CREATE TABLE posts(id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL,"
                     " author_followers INTEGER NOT NULL, created_at INTEGER NOT NULL,"
                     " lang TEXT NOT NULL, text TEXT NOT NULL, media TEXT NOT NULL,"
                     " reactions INTEGER NOT NULL, comments INTEGER NOT NULL,"
                     " shares INTEGER NOT NULL);"
                     "BEGIN;",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(db, "INSERT INTO posts(" POSTS__COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    for (size_t i = 1; i <= o->posts; i++) {
        if (posts_datagen_post(o->seed, (int64_t)i, &p) != PP_OK) {
            rc = PP_ENOMEM;
            goto out;
        }
        sqlite3_bind_int64(st, 1, p.id);
        sqlite3_bind_int64(st, 2, p.author_id);
        sqlite3_bind_int64(st, 3, p.author_followers);
        sqlite3_bind_int64(st, 4, p.created_at);
        sqlite3_bind_text(st, 5, p.lang, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, p.text, (int)p.text_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, posts_media_name(p.media), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, p.reactions);
        sqlite3_bind_int64(st, 9, p.comments);
        sqlite3_bind_int64(st, 10, p.shares);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto out;
        sqlite3_reset(st);
        posts_post_release(&p);
        if (o->progress && (i % 10000 == 0 || i == o->posts))
            o->progress(o->user, "sqlite", i, o->posts);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(db,
                     "COMMIT; CREATE INDEX posts_author ON posts(author_id);"
                     "CREATE INDEX posts_created ON posts(created_at);"
                     "PRAGMA journal_mode=WAL;",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_close(db) != SQLITE_OK)
        goto out;
    db = NULL;
    rc = pp_file_out_commit(fo, why, sizeof why);
    fo = NULL;
    if (rc != PP_OK)
        posts_err_set(err, "%s", why);
out:
    if (rc == PP_EDB)
        posts_err_set(err, "%s: %s", tmp, db ? sqlite3_errmsg(db) : "cannot open");
    else if (rc == PP_ENOMEM)
        posts_err_set(err, "out of memory generating posts");
    posts_post_release(&p);
    sqlite3_finalize(st);
    sqlite3_close(db);
    pp_file_out_abort(fo);
    return rc;
}

static int write_jsonl(const posts_datagen_opts *o, const char *dir, posts_err *err)
{
    PP_SCOPE("posts.datagen.jsonl");
    char path[POSTS_PATH_MAX + 32], why[POSTS_ERR_MAX];
    pp_file_out *fo = NULL;
    posts_post p = {0};
    char *line = NULL;
    if (posts__join_path(path, sizeof path, dir, "posts.jsonl")) {
        posts_err_set(err, "%s: path too long", dir);
        return PP_EINVAL;
    }
    int rc = pp_file_out_open(path, 0, &fo, why, sizeof why);
    if (rc != PP_OK) {
        posts_err_set(err, "%s", why);
        return rc;
    }
    FILE *f = pp_file_out_stream(fo);
    for (size_t i = 1; i <= o->posts; i++) {
        size_t len;
        if (posts_datagen_post(o->seed, (int64_t)i, &p) != PP_OK ||
            posts_post_to_json(&p, &line, &len) != PP_OK) {
            posts_err_set(err, "out of memory generating posts");
            rc = PP_ENOMEM;
            goto out;
        }
        line[len] = '\n';
        if (fwrite(line, 1, len + 1, f) != len + 1)
            break; /* the commit says why */
        free(line);
        line = NULL;
        posts_post_release(&p);
        if (o->progress && (i % 10000 == 0 || i == o->posts))
            o->progress(o->user, "jsonl", i, o->posts);
    }
    rc = pp_file_out_commit(fo, why, sizeof why);
    fo = NULL;
    if (rc != PP_OK)
        posts_err_set(err, "%s", why);
out:
    free(line);
    posts_post_release(&p);
    pp_file_out_abort(fo);
    return rc;
}

static int train_models(const posts_datagen_opts *o, const char *dir, posts_datagen_result *res,
                        posts_err *err)
{
    PP_SCOPE_MEM("posts.datagen.train");
    int rc = PP_ENOMEM;
    posts_preprocessor *pp = NULL;
    posts_feature_batch fb = {0};
    posts_batch b = {0};
    uint8_t *labels = malloc(o->posts ? o->posts : 1);
    float *scores = malloc((o->posts ? o->posts : 1) * sizeof *scores);
    posts_model *m = NULL;
    if (!labels || !scores)
        goto out;
    if ((rc = posts_preprocessor_new(2, 1, &pp)) != PP_OK)
        goto out;
    for (size_t i = 1; i <= o->posts; i++) {
        posts_post p;
        if ((rc = posts_datagen_post(o->seed, (int64_t)i, &p)) != PP_OK)
            goto out;
        labels[i - 1] = (uint8_t)posts_post_label(&p);
        rc = posts_batch_push(&b, &p);
        posts_post_release(&p);
        if (rc != PP_OK)
            goto out;
        if (b.n == 1024 || i == o->posts) {
            if ((rc = posts_preprocess_batch(pp, &b, &fb, NULL)) != PP_OK)
                goto out;
            posts_batch_clear(&b);
        }
    }
    size_t ntrain = o->posts * 4 / 5, ntest = o->posts - ntrain;
    res->train_posts = ntrain;
    for (int size = POSTS_MODEL_SMALL; size <= POSTS_MODEL_LARGE; size++) {
        posts_train_opts to = {.size = size, .seed = o->seed};
        if ((rc = posts_model_train(&fb, labels, ntrain, &to, &m)) != PP_OK) {
            posts_err_set(err, "training the %s model failed: %s", posts_model_name(size),
                          pp_strerror(rc));
            goto out;
        }
        for (size_t i = 0; i < ntest; i += POSTS_MAX_BATCH) {
            size_t cnt = ntest - i < POSTS_MAX_BATCH ? ntest - i : POSTS_MAX_BATCH;
            if ((rc = posts_model_predict(m, &fb, ntrain + i, cnt, scores + i)) != PP_OK)
                goto out;
        }
        res->auc[size] = posts_auc(scores, labels + ntrain, ntest);
        char path[POSTS_PATH_MAX + 32];
        if (posts__join_path(path, sizeof path, dir, posts_model_file(size))) {
            posts_err_set(err, "%s: path too long", dir);
            rc = PP_EINVAL;
            goto out;
        }
        if ((rc = posts_model_save(m, path, err)) != PP_OK)
            goto out;
        posts_model_free(m);
        m = NULL;
        if (o->progress)
            o->progress(o->user, "train", (size_t)size + 1, 3);
    }
    rc = PP_OK;
out:
    if (rc == PP_ENOMEM)
        posts_err_set(err, "out of memory while training");
    posts_model_free(m);
    posts_batch_release(&b);
    posts_feature_batch_release(&fb);
    posts_preprocessor_free(pp);
    free(labels);
    free(scores);
    return rc;
}

int posts_datagen_run(const posts_datagen_opts *o, posts_datagen_result *res, posts_err *err)
{
    PP_SCOPE("posts.datagen");
    int rc;
    memset(res, 0, sizeof *res);
    if (!o->out_dir || !o->posts) {
        posts_err_set(err, "datagen: need an output directory and at least one post");
        return PP_EINVAL;
    }
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
        posts_err_set(err, "%s: mkdir: %s", o->out_dir, strerror(errno));
        return PP_EIO;
    }
    uint64_t t0 = posts__now_ns();
    if ((rc = write_sqlite(o, o->out_dir, err)) != PP_OK)
        return rc;
    uint64_t t1 = posts__now_ns();
    if ((rc = write_jsonl(o, o->out_dir, err)) != PP_OK)
        return rc;
    uint64_t t2 = posts__now_ns();
    res->ns_sqlite = t1 - t0;
    res->ns_jsonl = t2 - t1;
    if (o->train && (rc = train_models(o, o->out_dir, res, err)) != PP_OK)
        return rc;
    uint64_t t3 = posts__now_ns();
    res->ns_train = t3 - t2;
    if (o->postgres_url && o->postgres_url[0]) {
        if ((rc = posts__pg_load(o->postgres_url, o->seed, o->posts, err)) != PP_OK)
            return rc;
        res->ns_postgres = posts__now_ns() - t3;
    }
    return PP_OK;
}

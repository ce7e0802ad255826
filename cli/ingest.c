/*
 * ingest.c: the two-thread ingest pipeline described in ingest.h.
 *
 * Reader thread: read a chunk -> feed the parser -> for each batch, copy
 * its points (and every string they point to) into a free work item -> push
 * it on the queue. Writer (calling thread): pop -> cts_db_write -> report ->
 * recycle the item. Items are reused, so steady state allocates nothing.
 *
 * Queue states: items cycle free -> filled (reader) -> full queue -> written
 * (writer) -> free. `done` is set by the reader after its last push, or by
 * the writer when it must stop early (an I/O error), which makes the reader
 * stop at its next push.
 */
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define QUEUE_ITEMS 4
#define CHUNK_BYTES (1u << 20)
#define MSG_KEEP 16 /* bad-line messages carried per item */

typedef struct item {
    cts_point *pts;
    uint64_t *lines;
    cts_tag *tags;
    cts_field *fields;
    char *arena;
    size_t npts, cap_pts, cap_lines, cap_tags, cap_fields, cap_arena;
    const char *source;
    uint64_t nbad;
    char msgs[MSG_KEEP][CTS_LP_MSG_MAX + 300];
    int nmsgs;
} item;

typedef struct pipeline {
    cts_db *db;
    const ingest_opts *o;
    ingest_source *srcs;
    size_t nsrc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item items[QUEUE_ITEMS];
    item *freelist[QUEUE_ITEMS], *queue[QUEUE_ITEMS];
    int nfree, qhead, qlen;
    bool done, abort;
    int reader_rc;
    uint64_t bytes, lines, read_pos, read_size; /* reader's progress, under mu */
    atomic_int reported;                        /* bad lines printed, by either thread */
    char reader_err[512];
} pipeline;

/* ---- sources ---- */

typedef struct file_src {
    gzFile gz;
    int fd;
} file_src;

static int64_t file_read(void *ctx, void *buf, size_t cap)
{
    file_src *f = ctx;
    int n = gzread(f->gz, buf, (unsigned)(cap > INT32_MAX ? INT32_MAX : cap));
    return n < 0 ? -1 : n;
}

static uint64_t file_pos(void *ctx)
{
    file_src *f = ctx;
    off_t o = lseek(f->fd, 0, SEEK_CUR);
    return o < 0 ? 0 : (uint64_t)o;
}

int ingest_source_file(ingest_source *src, const char *path)
{
    memset(src, 0, sizeof *src);
    src->name = path;
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    file_src *f = calloc(1, sizeof *f);
    if (fd < 0 || !f) {
        snprintf(src->errmsg, sizeof src->errmsg, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(f);
        return -1;
    }
    struct stat st;
    if (!is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        src->size = (uint64_t)st.st_size;
    f->fd = fd;
    f->gz = gzdopen(fd, "rb"); /* reads gzip and plain input alike */
    if (!f->gz) {
        snprintf(src->errmsg, sizeof src->errmsg, "%s: cannot read", path);
        close(fd);
        free(f);
        return -1;
    }
    gzbuffer(f->gz, 256 * 1024);
    src->read = file_read;
    src->pos = file_pos;
    src->ctx = f;
    return 0;
}

void ingest_source_close(ingest_source *src)
{
    file_src *f = src->ctx;
    if (f && src->read == file_read) {
        gzclose(f->gz); /* closes the fd too */
        free(f);
    }
    src->ctx = NULL;
}

/* ---- parsers: line protocol and CSV behind one interface ---- */

/* A batch of either format: points with their line numbers, and the
 * messages of the bad lines. */
typedef struct gbatch {
    const cts_point *points;
    const uint64_t *lines;
    size_t npoints, nbad;
    const cts_lp_error *lp_bad;
    const cts_csv_error *csv_bad;
} gbatch;

typedef struct parser {
    cts_lp_reader *lp;
    cts_csv_reader *csv;
} parser;

static int parser_create(parser *p, const ingest_opts *o)
{
    memset(p, 0, sizeof *p);
    if (o->format == INGEST_CSV)
        return cts_csv_reader_create(o->csv, &p->csv);
    cts_lp_opts lo;
    cts_lp_opts_init(&lo);
    lo.precision = o->precision;
    return cts_lp_reader_create(&lo, &p->lp);
}

static void parser_destroy(parser *p)
{
    cts_lp_reader_destroy(p->lp);
    cts_csv_reader_destroy(p->csv);
}

static int parser_reset(parser *p, const ingest_opts *o)
{
    if (p->csv)
        return cts_csv_reader_reset(p->csv);
    return cts_lp_reader_reset(p->lp, o->precision, (int64_t)time(NULL) * 1000000000);
}

static int parser_feed(parser *p, const void *buf, size_t n)
{
    return p->csv ? cts_csv_reader_feed(p->csv, buf, n) : cts_lp_reader_feed(p->lp, buf, n);
}

static int parser_finish(parser *p)
{
    return p->csv ? cts_csv_reader_finish(p->csv) : cts_lp_reader_finish(p->lp);
}

static int parser_next(parser *p, gbatch *g)
{
    memset(g, 0, sizeof *g);
    if (p->csv) {
        cts_csv_batch b;
        int rc = cts_csv_reader_next(p->csv, &b);
        if (rc == 1)
            *g = (gbatch){b.points, b.point_row, b.npoints, b.nbad, NULL, b.bad};
        return rc;
    }
    cts_lp_batch b;
    int rc = cts_lp_reader_next(p->lp, &b);
    if (rc == 1)
        *g = (gbatch){b.points, b.point_line, b.npoints, b.nbad, b.bad, NULL};
    return rc;
}

/* Bytes fed and lines ended since the last reset. */
static void parser_stats(const parser *p, uint64_t *bytes, uint64_t *lines)
{
    if (p->csv) {
        cts_csv_stats st;
        cts_csv_reader_stats(p->csv, &st);
        *bytes = st.bytes;
        *lines = st.rows;
    } else {
        cts_lp_stats st;
        cts_lp_reader_stats(p->lp, &st);
        *bytes = st.bytes;
        *lines = st.lines;
    }
}

/* ---- items ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (*cap >= need)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return CTS_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static size_t batch_bytes(const gbatch *b, size_t *ntags, size_t *nfields)
{
    size_t bytes = 0;
    *ntags = *nfields = 0;
    for (size_t i = 0; i < b->npoints; i++) {
        const cts_point *p = &b->points[i];
        bytes += p->measurement.len;
        for (uint32_t k = 0; k < p->ntags; k++)
            bytes += p->tags[k].key.len + p->tags[k].value.len;
        for (uint32_t k = 0; k < p->nfields; k++)
            bytes += p->fields[k].key.len +
                     (p->fields[k].type == CTS_TYPE_STRING ? p->fields[k].v.s.len : 0);
        *ntags += p->ntags;
        *nfields += p->nfields;
    }
    return bytes;
}

static cts_str dup_str(cts_str s, char **arena)
{
    cts_str out = {*arena, s.len};
    if (s.len)
        memcpy(*arena, s.ptr, s.len);
    *arena += s.len;
    return out;
}

/* Copy batch b into it, so the parser may go on while it is written. */
static int item_fill(item *it, const gbatch *b)
{
    size_t nt, nf, bytes = batch_bytes(b, &nt, &nf);
    if (grow((void **)&it->pts, &it->cap_pts, b->npoints, sizeof *it->pts) ||
        grow((void **)&it->lines, &it->cap_lines, b->npoints, sizeof *it->lines) ||
        grow((void **)&it->tags, &it->cap_tags, nt, sizeof *it->tags) ||
        grow((void **)&it->fields, &it->cap_fields, nf, sizeof *it->fields) ||
        grow((void **)&it->arena, &it->cap_arena, bytes + 1, 1))
        return CTS_ENOMEM;
    char *a = it->arena;
    cts_tag *t = it->tags;
    cts_field *f = it->fields;
    for (size_t i = 0; i < b->npoints; i++) {
        const cts_point *p = &b->points[i];
        it->pts[i] = *p;
        it->pts[i].measurement = dup_str(p->measurement, &a);
        it->pts[i].tags = t;
        it->pts[i].fields = f;
        it->lines[i] = b->lines[i];
        for (uint32_t k = 0; k < p->ntags; k++, t++)
            *t = (cts_tag){dup_str(p->tags[k].key, &a), dup_str(p->tags[k].value, &a)};
        for (uint32_t k = 0; k < p->nfields; k++, f++) {
            *f = p->fields[k];
            f->key = dup_str(p->fields[k].key, &a);
            if (f->type == CTS_TYPE_STRING)
                f->v.s = dup_str(p->fields[k].v.s, &a);
        }
    }
    it->npts = b->npoints;
    return 0;
}

/* Keep the messages of b's bad lines that are still to be printed. */
static void item_note_bad(pipeline *pl, item *it, const gbatch *b, const char *src)
{
    it->nbad = b->nbad;
    for (size_t i = 0; i < b->nbad && it->nmsgs < MSG_KEEP; i++) {
        if (atomic_fetch_add(&pl->reported, 1) >= pl->o->report_max)
            break;
        char *m = it->msgs[it->nmsgs++];
        if (b->lp_bad)
            snprintf(m, sizeof it->msgs[0], "%s:%llu:%u: %s", src,
                     (unsigned long long)b->lp_bad[i].line, b->lp_bad[i].column, b->lp_bad[i].msg);
        else
            snprintf(m, sizeof it->msgs[0], "%s: %s", src, b->csv_bad[i].msg);
    }
}

/* ---- the queue ---- */

static item *take_free(pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    while (pl->nfree == 0 && !pl->abort)
        pthread_cond_wait(&pl->cv, &pl->mu);
    item *it = pl->abort ? NULL : pl->freelist[--pl->nfree];
    pthread_mutex_unlock(&pl->mu);
    if (it) {
        it->npts = 0;
        it->nbad = 0;
        it->nmsgs = 0;
    }
    return it;
}

static void push(pipeline *pl, item *it)
{
    pthread_mutex_lock(&pl->mu);
    pl->queue[(pl->qhead + pl->qlen++) % QUEUE_ITEMS] = it;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

static void give_back(pipeline *pl, item *it)
{
    pthread_mutex_lock(&pl->mu);
    pl->freelist[pl->nfree++] = it;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

/* ---- reader thread ---- */

static void note_progress(pipeline *pl, ingest_source *s, uint64_t base, const parser *p)
{
    uint64_t bytes, lines;
    parser_stats(p, &bytes, &lines);
    pthread_mutex_lock(&pl->mu);
    pl->bytes = base + bytes;
    pl->read_pos = s->pos ? s->pos(s->ctx) : 0;
    pthread_mutex_unlock(&pl->mu);
}

/* Drain the parser's batches; returns 0, 1 (strict stop), or an error. */
static int drain(pipeline *pl, parser *p, const char *src)
{
    gbatch b;
    int rc;
    while ((rc = parser_next(p, &b)) == 1) {
        item *it = take_free(pl);
        if (!it)
            return CTS_ECLOSED;
        item_note_bad(pl, it, &b, src);
        if (pl->o->strict && b.nbad) {
            push(pl, it); /* only its messages: nothing of this batch is written */
            return 1;
        }
        if ((rc = item_fill(it, &b))) {
            give_back(pl, it);
            return rc;
        }
        it->source = src;
        push(pl, it);
    }
    if (rc == CTS_EPARSE && p->csv)
        snprintf(pl->reader_err, sizeof pl->reader_err, "%s: %s", src,
                 cts_csv_reader_errmsg(p->csv));
    return rc;
}

static int read_source(pipeline *pl, parser *p, ingest_source *s, char *buf, uint64_t *base)
{
    int rc = parser_reset(p, pl->o);
    while (rc == 0) {
        int64_t n = s->read(s->ctx, buf, CHUNK_BYTES);
        if (n < 0) {
            snprintf(pl->reader_err, sizeof pl->reader_err, "%s: read error%s%s", s->name,
                     s->errmsg[0] ? ": " : "", s->errmsg);
            return CTS_EIO;
        }
        rc = n == 0 ? parser_finish(p) : parser_feed(p, buf, (size_t)n);
        if (rc == 0)
            rc = drain(pl, p, s->name);
        note_progress(pl, s, *base, p);
        if (n == 0)
            break;
    }
    uint64_t bytes, lines;
    parser_stats(p, &bytes, &lines);
    *base += bytes;
    pthread_mutex_lock(&pl->mu);
    pl->lines += lines;
    pthread_mutex_unlock(&pl->mu);
    return rc;
}

static void *reader_main(void *arg)
{
    pipeline *pl = arg;
    parser p;
    char *buf = malloc(CHUNK_BYTES);
    uint64_t base = 0;
    int rc = buf ? parser_create(&p, pl->o) : CTS_ENOMEM;
    for (size_t i = 0; i < pl->nsrc && rc == 0; i++)
        rc = read_source(pl, &p, &pl->srcs[i], buf, &base);
    if (buf)
        parser_destroy(&p);
    free(buf);
    pthread_mutex_lock(&pl->mu);
    pl->reader_rc = rc;
    pl->done = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* ---- writer (calling thread) ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_progress(pipeline *pl, const ingest_stats *st, double t0, uint64_t total)
{
    pthread_mutex_lock(&pl->mu);
    uint64_t bytes = pl->bytes, pos = pl->read_pos;
    pthread_mutex_unlock(&pl->mu);
    double el = now_s() - t0, frac = total ? (double)pos / (double)total : 0;
    frac = frac > 1 ? 1 : frac;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %5.1f%% %8.1f MB %7.2fM lines/s %7.2fM values/s", total ? bar : "",
            total ? frac * 100 : 0.0, (double)bytes / 1e6,
            el > 0 ? (double)st->points / el / 1e6 : 0, el > 0 ? (double)st->values / el / 1e6 : 0);
    if (total && frac > 0.01)
        fprintf(stderr, " ETA %4.0fs", el / frac - el);
    fflush(stderr);
}

/* Write one item; returns 0, 1 (strict stop after a rejection) or an error. */
static int write_item(pipeline *pl, item *it, ingest_stats *st)
{
    for (int i = 0; i < it->nmsgs; i++)
        fprintf(pl->o->report, "%s%s\n", pl->o->progress ? "\r\033[K" : "", it->msgs[i]);
    st->bad_lines += it->nbad;
    if (it->npts == 0)
        return 0;
    cts_write_result res;
    int rc = cts_db_write(pl->db, it->pts, it->npts, &res);
    st->points += res.points_written;
    st->values += res.values_written;
    st->series_created += res.series_created;
    if (rc == CTS_ETYPE || rc == CTS_EINVAL || rc == CTS_ELIMIT) {
        st->rejected_points += res.points_rejected;
        if (atomic_fetch_add(&pl->reported, 1) < pl->o->report_max)
            fprintf(pl->o->report, "%s%s:%llu: %s\n", pl->o->progress ? "\r\033[K" : "", it->source,
                    (unsigned long long)it->lines[res.first_rejected], res.msg);
        return pl->o->strict ? 1 : 0;
    }
    if (rc)
        fprintf(pl->o->report, "%scityts ingest: write failed: %s\n",
                pl->o->progress ? "\r\033[K" : "", cts_db_errmsg(pl->db));
    return rc;
}

/* Next filled item, or NULL when the reader is done and the queue empty. */
static item *pop(pipeline *pl, double t0, const ingest_stats *st, uint64_t total)
{
    pthread_mutex_lock(&pl->mu);
    while (pl->qlen == 0 && !pl->done) {
        if (pl->o->progress) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&pl->cv, &pl->mu, &ts);
            pthread_mutex_unlock(&pl->mu);
            draw_progress(pl, st, t0, total);
            pthread_mutex_lock(&pl->mu);
        } else {
            pthread_cond_wait(&pl->cv, &pl->mu);
        }
    }
    item *it = NULL;
    if (pl->qlen) {
        it = pl->queue[pl->qhead];
        pl->qhead = (pl->qhead + 1) % QUEUE_ITEMS;
        pl->qlen--;
    }
    pthread_mutex_unlock(&pl->mu);
    return it;
}

static void stop_reader(pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    pl->abort = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

static void pipeline_fini(pipeline *pl)
{
    for (int i = 0; i < QUEUE_ITEMS; i++) {
        item *it = &pl->items[i];
        free(it->pts);
        free(it->lines);
        free(it->tags);
        free(it->fields);
        free(it->arena);
    }
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv);
}

static int write_loop(pipeline *pl, ingest_stats *st, double t0, uint64_t total)
{
    int rc = 0;
    double last = 0;
    item *it;
    while ((it = pop(pl, t0, st, total)) != NULL) {
        if (rc == 0)
            rc = write_item(pl, it, st);
        give_back(pl, it);
        if (rc)
            stop_reader(pl);
        if (pl->o->progress && now_s() - last > 0.2) {
            draw_progress(pl, st, t0, total);
            last = now_s();
        }
    }
    return rc;
}

int ingest_run(cts_db *db, const ingest_opts *o, ingest_source *srcs, size_t nsrc, ingest_stats *st)
{
    pipeline *pl = calloc(1, sizeof *pl);
    pthread_t th;
    uint64_t total = 0;
    memset(st, 0, sizeof *st);
    if (!pl)
        return CTS_ENOMEM;
    *pl = (pipeline){.db = db, .o = o, .srcs = srcs, .nsrc = nsrc, .nfree = QUEUE_ITEMS};
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv, NULL);
    for (int i = 0; i < QUEUE_ITEMS; i++)
        pl->freelist[i] = &pl->items[i];
    for (size_t i = 0; i < nsrc; i++)
        total = srcs[i].size && (total || i == 0) ? total + srcs[i].size : 0;
    double t0 = now_s();
    int rc = pthread_create(&th, NULL, reader_main, pl) ? CTS_ENOMEM : 0;
    if (rc == 0) {
        rc = write_loop(pl, st, t0, nsrc == 1 ? total : 0);
        pthread_join(th, NULL);
    }
    if (o->progress)
        fprintf(stderr, "\r\033[K");
    st->elapsed_s = now_s() - t0;
    st->bytes = pl->bytes;
    st->lines = pl->lines;
    st->stopped = pl->reader_rc == 1 || rc == 1;
    if (rc == 0 && pl->reader_rc < 0) {
        rc = pl->reader_rc;
        fprintf(o->report, "cityts ingest: %s\n",
                pl->reader_err[0] ? pl->reader_err : cts_strerror(rc));
    }
    if (rc == 0 || rc == 1)
        rc = st->bad_lines || st->rejected_points ? CTS_EPARSE : 0;
    pipeline_fini(pl);
    free(pl);
    return rc;
}

static void human(double v, char *buf, size_t cap)
{
    if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

void ingest_print_summary(FILE *out, const ingest_stats *st)
{
    char rate[32];
    human(st->elapsed_s > 0 ? (double)st->values / st->elapsed_s : 0, rate, sizeof rate);
    fprintf(out,
            "%llu lines, %llu points, %llu values, %llu new series, %llu bad lines, %llu "
            "rejected points, %.1f MB in %.2f s (%s values/s)%s\n",
            (unsigned long long)st->lines, (unsigned long long)st->points,
            (unsigned long long)st->values, (unsigned long long)st->series_created,
            (unsigned long long)st->bad_lines, (unsigned long long)st->rejected_points,
            (double)st->bytes / 1e6, st->elapsed_s, rate,
            st->stopped ? " (stopped at the first bad line: --strict)" : "");
}

/*
 * chart.c: a time series drawn in the terminal with Braille characters.
 *
 * Each character cell is a 2 x 4 grid of dots (U+2800 + one bit per dot),
 * so a chart of W x H cells has 2W x 4H dots: x is time (first to last
 * time of the series, linearly), y the value (max at the top, min at the
 * bottom). Consecutive points are joined by straight lines (Bresenham); a
 * null or non-finite value breaks the line, so gaps show. Layout:
 *
 *   air city=lisbon: pm25
 *   14.5 ┤      ⢀⡠⠔⠊
 *        │   ⢀⠔⠁
 *   12.5 ┤⣀⠔⠁
 *        └──────────────
 *         2026-11-02T00:00:00Z  2026-11-02T01:00:00Z
 *
 * The y axis carries the max, the min and a tick every four rows; the x
 * axis the first and last time, in the encoder's epoch format. Labels use
 * the fewest significant digits (3 to 15) that tell the max from the min.
 */
#include "encode_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UTF8_VBAR "\xe2\x94\x82"   /* │ */
#define UTF8_TICK "\xe2\x94\xa4"   /* ┤ */
#define UTF8_CORNER "\xe2\x94\x94" /* └ */
#define UTF8_HBAR "\xe2\x94\x80"   /* ─ */

typedef struct chart {
    size_t w, h; /* cells */
    unsigned char *bits;
    int64_t tmin, tmax;
    double vmin, vmax;
} chart;

static void set_dot(chart *c, long x, long y)
{
    static const unsigned char dot[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (x < 0 || y < 0 || (size_t)x >= 2 * c->w || (size_t)y >= 4 * c->h)
        return;
    c->bits[(size_t)y / 4 * c->w + (size_t)x / 2] |= dot[y % 4][x % 2];
}

static void line(chart *c, long x0, long y0, long x1, long y1)
{
    long dx = labs(x1 - x0), dy = -labs(y1 - y0);
    long sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        set_dot(c, x0, y0);
        if (x0 == x1 && y0 == y1)
            return;
        long e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static long px_of(const chart *c, int64_t ts)
{
    if (c->tmax == c->tmin)
        return (long)c->w; /* one instant: the middle */
    double f = (double)((uint64_t)ts - (uint64_t)c->tmin) /
               (double)((uint64_t)c->tmax - (uint64_t)c->tmin);
    return lround(f * (double)(2 * c->w - 1));
}

static long py_of(const chart *c, double v)
{
    /* halves, so max - min cannot overflow */
    double range = c->vmax / 2 - c->vmin / 2;
    if (!(range > 0))
        return (long)(2 * c->h);
    return lround((c->vmax / 2 - v / 2) / range * (double)(4 * c->h - 1));
}

/* The value at the middle of cell row r (the top row shows the max, the
 * bottom row the min). */
static double row_value(const chart *c, size_t r)
{
    double py = r == 0 ? 0 : r == c->h - 1 ? (double)(4 * c->h - 1) : (double)(4 * r) + 1.5;
    double range = c->vmax / 2 - c->vmin / 2;
    return c->vmax - 2 * range * py / (double)(4 * c->h - 1);
}

static bool is_label_row(const chart *c, size_t r)
{
    return r == 0 || r == c->h - 1 || (r % 4 == 0 && r + 2 < c->h);
}

static int label_digits(const chart *c)
{
    char a[64], b[64];
    for (int p = 3; p < 15; p++) {
        snprintf(a, sizeof a, "%.*g", p, c->vmax);
        snprintf(b, sizeof b, "%.*g", p, c->vmin);
        if (strcmp(a, b) != 0)
            return p;
    }
    return 15;
}

static void plot(chart *c, const qchart_point *pts, size_t count)
{
    bool prev = false;
    long px0 = 0, py0 = 0;
    for (size_t i = 0; i < count; i++) {
        if (pts[i].null) {
            prev = false;
            continue;
        }
        long px = px_of(c, pts[i].ts_ns), py = py_of(c, pts[i].v);
        if (prev)
            line(c, px0, py0, px, py);
        else
            set_dot(c, px, py);
        prev = true;
        px0 = px;
        py0 = py;
    }
}

static int draw_rows(cts_qenc *e, const chart *c, int digits, int lw)
{
    char label[64];
    for (size_t r = 0; r < c->h && !e->err; r++) {
        const unsigned char *row = c->bits + r * c->w;
        size_t end = c->w;
        while (end > 0 && row[end - 1] == 0)
            end--;
        if (is_label_row(c, r)) {
            int n = snprintf(label, sizeof label, "%*.*g", lw, digits, row_value(c, r));
            qenc_out(e, label, (size_t)n);
            qenc_outs(e, " " UTF8_TICK);
        } else {
            qenc_outn(e, ' ', (size_t)lw);
            qenc_outs(e, " " UTF8_VBAR);
        }
        for (size_t x = 0; x < end; x++) {
            char ch[3] = {(char)0xE2, (char)(0xA0 | (row[x] >> 6)), (char)(0x80 | (row[x] & 0x3F))};
            if (row[x])
                qenc_out(e, ch, 3);
            else
                qenc_outc(e, ' ');
        }
        qenc_outc(e, '\n');
    }
    return e->err;
}

static int draw_x_axis(cts_qenc *e, const chart *c, int lw)
{
    char a[40], b[40];
    bool text;
    qenc_outn(e, ' ', (size_t)lw);
    qenc_outs(e, " " UTF8_CORNER);
    for (size_t x = 0; x < c->w; x++)
        qenc_outs(e, UTF8_HBAR);
    qenc_outc(e, '\n');
    size_t na = qfmt_time(c->tmin, e->opts.epoch, a, &text);
    size_t nb = qfmt_time(c->tmax, e->opts.epoch, b, &text);
    qenc_outn(e, ' ', (size_t)lw + 2);
    qenc_out(e, a, na);
    if (c->tmax != c->tmin) {
        size_t gap = c->w > na + nb + 2 ? c->w - na - nb : 2;
        qenc_outn(e, ' ', gap);
        qenc_out(e, b, nb);
    }
    return qenc_outc(e, '\n');
}

/* Time and value ranges of the non-null points; false when there is none. */
static bool ranges(chart *c, const qchart_point *pts, size_t count)
{
    bool any = false;
    for (size_t i = 0; i < count; i++) {
        if (pts[i].null)
            continue;
        if (!any || pts[i].ts_ns < c->tmin)
            c->tmin = pts[i].ts_ns;
        if (!any || pts[i].ts_ns > c->tmax)
            c->tmax = pts[i].ts_ns;
        if (!any || pts[i].v < c->vmin)
            c->vmin = pts[i].v;
        if (!any || pts[i].v > c->vmax)
            c->vmax = pts[i].v;
        any = true;
    }
    if (any && c->vmin == c->vmax) {
        double pad = fabs(c->vmin) > 1 ? fabs(c->vmin) / 10 : 1;
        c->vmin -= pad;
        c->vmax += pad;
    }
    return any;
}

int qchart_draw(cts_qenc *e, const char *title, size_t title_len, const qchart_point *pts,
                size_t count)
{
    chart c = {.w = e->opts.chart_width, .h = e->opts.chart_height};
    char label[64];
    qenc_out(e, title, title_len);
    qenc_outc(e, '\n');
    if (!ranges(&c, pts, count))
        return qenc_outs(e, "(no values)\n");
    c.bits = cts_calloc(c.w * c.h, 1);
    if (!c.bits)
        return CTS_ENOMEM;
    plot(&c, pts, count);
    int digits = label_digits(&c), lw = 1;
    for (size_t r = 0; r < c.h; r++) {
        if (is_label_row(&c, r)) {
            int n = snprintf(label, sizeof label, "%.*g", digits, row_value(&c, r));
            if (n > lw)
                lw = n;
        }
    }
    draw_rows(e, &c, digits, lw);
    draw_x_axis(e, &c, lw);
    cts_free(c.bits);
    return e->err;
}

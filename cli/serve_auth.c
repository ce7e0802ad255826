/*
 * serve_auth.c: who may do what on `cityts serve --auth FILE`.
 *
 * The credentials file (never the command line, where `ps` shows it): one
 * user per line,
 *
 *     NAME:SHA256HEX:PRIVILEGE
 *
 * NAME is 1-64 bytes of [A-Za-z0-9_.@-]; SHA256HEX is the 64 hex digits
 * of the SHA-256 of the password (`printf %s "$PASSWORD" | sha256sum`);
 * PRIVILEGE is read (SELECT, SHOW), write (/write), all (both) or admin
 * (all, plus CREATE/DROP DATABASE and DELETE). /metrics needs a valid
 * user of any privilege. Blank lines and
 * lines starting with '#' are ignored. Any other line refuses the whole
 * file, naming the line, so a typo never silently locks a user out or
 * lets one in.
 *
 * Requests are authenticated as InfluxDB 1.x does (its order and its
 * words): `u` and `p` URL parameters, else `Authorization: Token
 * user:password` (what 2.x clients send, the token being user:password as
 * InfluxDB 1.8 reads it), else `Authorization: Basic`. No credentials:
 * 401 "unable to parse authentication credentials"; an empty user name:
 * 401 "username required"; a wrong name or password: 401 "authorization
 * failed". Hashes are compared in constant time.
 *
 * The SHA-256 below follows FIPS 180-4; the test checks it against
 * sha256sum(1) through a real login.
 */
#include "serve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- SHA-256 ---- */

typedef struct sha256_ctx {
    uint32_t h[8];
    uint8_t buf[64];
    uint64_t total;
    size_t fill;
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_block(sha256_ctx *s, const uint8_t *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

static void sha256_update(sha256_ctx *s, const uint8_t *p, size_t len)
{
    s->total += len;
    while (len > 0) {
        size_t n = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->buf + s->fill, p, n);
        s->fill += n;
        p += n;
        len -= n;
        if (s->fill == 64) {
            sha256_block(s, s->buf);
            s->fill = 0;
        }
    }
}

void serve_sha256(const void *data, size_t len, uint8_t out[32])
{
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    sha256_ctx s = {.fill = 0, .total = 0};
    memcpy(s.h, H0, sizeof H0);
    sha256_update(&s, data, len);
    uint64_t bits = s.total * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s.fill < 56 ? 56 : 120) - s.fill;
    for (int i = 0; i < 8; i++)
        pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(&s, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s.h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s.h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s.h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s.h[i];
    }
}

/* ---- the file ---- */

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '@' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool hash_ok(const char *s, size_t n, uint8_t out[32])
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static serve_priv priv_parse(const char *s, size_t n)
{
    static const struct {
        const char *name;
        serve_priv priv;
    } privs[] = {{"read", SERVE_PRIV_READ},
                 {"write", SERVE_PRIV_WRITE},
                 {"all", SERVE_PRIV_ALL},
                 {"admin", SERVE_PRIV_ADMIN}};
    for (size_t i = 0; i < sizeof privs / sizeof privs[0]; i++)
        if (strlen(privs[i].name) == n && memcmp(privs[i].name, s, n) == 0)
            return privs[i].priv;
    return SERVE_PRIV_NONE;
}

/* One line (without its newline) into *u; NULL on success, else why. */
static const char *parse_line(const char *line, size_t n, serve_user *u)
{
    const char *c1 = memchr(line, ':', n);
    const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2)
        return "expected NAME:SHA256HEX:PRIVILEGE";
    size_t nl = (size_t)(c1 - line), hl = (size_t)(c2 - c1 - 1);
    size_t pl = n - (size_t)(c2 + 1 - line);
    if (!name_ok(line, nl))
        return "user name: 1 to 64 of A-Z a-z 0-9 _ . @ -";
    if (!hash_ok(c1 + 1, hl, u->hash))
        return "password hash: 64 hex digits of SHA-256 (printf %s PASSWORD | sha256sum)";
    if ((u->priv = priv_parse(c2 + 1, pl)) == SERVE_PRIV_NONE)
        return "privilege: read, write, all or admin";
    memcpy(u->name, line, nl);
    u->name[nl] = '\0';
    return NULL;
}

static int add_line(serve_auth *a, const char *line, size_t n, const char **why)
{
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    if (n == 0 || line[0] == '#')
        return 0;
    serve_user u;
    memset(&u, 0, sizeof u);
    if ((*why = parse_line(line, n, &u)) != NULL)
        return -1;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->users[i].name, u.name) == 0) {
            *why = "user listed twice";
            return -1;
        }
    serve_user *nu = cts_realloc(a->users, (a->count + 1) * sizeof *nu);
    if (!nu) {
        *why = "out of memory";
        return -1;
    }
    a->users = nu;
    a->users[a->count++] = u;
    return 0;
}

static int load_text(const char *path, const char *text, size_t len, serve_auth *a, char *errmsg,
                     size_t cap)
{
    size_t start = 0, lineno = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *why = NULL;
        lineno++;
        if (add_line(a, text + start, end - start, &why) != 0) {
            snprintf(errmsg, cap, "%s:%zu: %s", path, lineno, why);
            return -1;
        }
        start = end + 1;
    }
    if (a->count == 0) {
        snprintf(errmsg, cap, "%s: no users (a file that lets nobody in is a mistake)", path);
        return -1;
    }
    return 0;
}

int serve_auth_load(const char *path, serve_auth *auth, char *errmsg, size_t cap)
{
    memset(auth, 0, sizeof *auth);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    int rc = -1;
    if (!f) {
        snprintf(errmsg, cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size > (1 << 24)) {
        snprintf(errmsg, cap, "%s: cannot read (or larger than 16 MiB)", path);
        goto out;
    }
    if (sb.st_mode & S_IROTH)
        fprintf(stderr, "cityts serve: warning: %s is readable by every user (chmod 600)\n", path);
    size_t len = (size_t)sb.st_size;
    if (!(text = cts_malloc(len + 1)) || fread(text, 1, len, f) != len) {
        snprintf(errmsg, cap, "%s: cannot read", path);
        goto out;
    }
    rc = load_text(path, text, len, auth, errmsg, cap);
out:
    if (rc != 0)
        serve_auth_free(auth);
    cts_free(text);
    fclose(f);
    return rc;
}

void serve_auth_free(serve_auth *auth)
{
    cts_free(auth->users);
    auth->users = NULL;
    auth->count = 0;
}

/* ---- requests ---- */

static bool same_hash(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0;
    for (int i = 0; i < 32; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

static void verify(const serve_auth *a, const char *user, const char *pass, size_t pass_len,
                   serve_authn *out)
{
    uint8_t h[32];
    out->user = NULL;
    out->status = MHD_HTTP_UNAUTHORIZED;
    if (!user || !*user) {
        out->error = "username required";
        return;
    }
    serve_sha256(pass, pass_len, h);
    out->error = "authorization failed";
    for (size_t i = 0; i < a->count; i++) {
        bool match = same_hash(a->users[i].hash, h); /* always compared: no timing hint */
        if (strcmp(a->users[i].name, user) == 0 && match) {
            out->user = &a->users[i];
            out->status = 0;
            out->error = NULL;
        }
    }
}

/* `Authorization: Token user:password`; false when it is not that form. */
static bool token_auth(const serve_auth *a, const char *h, serve_authn *out)
{
    if (strncmp(h, "Token ", 6) != 0 || strchr(h + 6, ' '))
        return false;
    const char *colon = strchr(h + 6, ':');
    if (!colon)
        return false;
    char user[128];
    size_t ul = (size_t)(colon - (h + 6));
    if (ul >= sizeof user) {
        verify(a, "-", "", 0, out); /* longer than any name: a failed login */
        return true;
    }
    memcpy(user, h + 6, ul);
    user[ul] = '\0';
    verify(a, user, colon + 1, strlen(colon + 1), out);
    return true;
}

void serve_auth_check(const serve_auth *auth, struct MHD_Connection *c, serve_authn *out)
{
    const char *u = serve_arg(c, "u"), *p = serve_arg(c, "p");
    if (u && *u && p && *p) {
        verify(auth, u, p, strlen(p), out);
        return;
    }
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && !strchr(h + 7, ' ')) {
        *out = (serve_authn){NULL, MHD_HTTP_UNAUTHORIZED, "bearer auth disabld"};
        return;
    }
    if (h && token_auth(auth, h, out))
        return;
    char *pass = NULL;
    char *user = h ? MHD_basic_auth_get_username_password(c, &pass) : NULL;
    if (user) {
        verify(auth, user, pass ? pass : "", pass ? strlen(pass) : 0, out);
        MHD_free(user);
        MHD_free(pass);
        return;
    }
    *out = (serve_authn){NULL, MHD_HTTP_UNAUTHORIZED, "unable to parse authentication credentials"};
}

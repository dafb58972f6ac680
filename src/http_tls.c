#include "http_tls.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pb.h"

#define MAX_CHAIN   8
#define PEM_MAX     ((size_t)256 * 1024) /* a chain of a few certificates is a few KiB */
#define RETIRED_MAX 16

/* TLS 1.2 and 1.3; AEAD ciphers only, with ECDHE (forward secrecy); the
 * server's order. */
static const char priorities[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE";

struct pair {
        gnutls_pcert_st pcert[MAX_CHAIN];
        unsigned n;
        gnutls_privkey_t key;
        pb_tls_info_t info;
        int64_t retired_ms;
        struct pair *next; /* retired list */
};

/* What stat() says of a file: a change of any is a new file. */
struct seen {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
};

struct pb_tls {
        char *cert_file, *key_file;
        struct seen seen[2]; /* the files as last looked at (pb_tls_changed) */
        pthread_mutex_t lock;
        struct pair *cur;
        struct pair *retired;
        size_t nretired;
};

/* The process's listener pair (libmicrohttpd's callback has no context). */
static pb_tls_t *g_tls;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void pair_free(struct pair *p)
{
        if (!p)
                return;
        for (unsigned i = 0; i < p->n; i++)
                gnutls_pcert_deinit(&p->pcert[i]);
        if (p->key)
                gnutls_privkey_deinit(p->key);
        free(p);
}

/* The certificate's subject, SANs, serial and expiry. */
static void describe(gnutls_x509_crt_t crt, pb_tls_info_t *info)
{
        gnutls_datum_t dn = {NULL, 0};
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
                snprintf(info->subject, sizeof(info->subject), "%.*s", (int)dn.size, dn.data);
                gnutls_free(dn.data);
        }
        size_t o = 0;
        for (unsigned i = 0; o < sizeof(info->sans) - 1; i++) {
                char name[256];
                size_t nl = sizeof(name) - 1;
                int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &nl, NULL);
                if (type < 0)
                        break;
                const char *kind = type == GNUTLS_SAN_DNSNAME     ? "DNS"
                                   : type == GNUTLS_SAN_IPADDRESS ? "IP"
                                                                  : NULL;
                if (!kind)
                        continue;
                char shown[64];
                if (type == GNUTLS_SAN_IPADDRESS && nl == 4)
                        snprintf(shown, sizeof(shown), "%u.%u.%u.%u", (unsigned char)name[0],
                                 (unsigned char)name[1], (unsigned char)name[2],
                                 (unsigned char)name[3]);
                else if (type == GNUTLS_SAN_IPADDRESS)
                        snprintf(shown, sizeof(shown), "(IPv6)");
                o += (size_t)snprintf(info->sans + o, sizeof(info->sans) - o, "%s%s:%.*s",
                                      o ? ", " : "", kind,
                                      type == GNUTLS_SAN_DNSNAME ? (int)nl : (int)strlen(shown),
                                      type == GNUTLS_SAN_DNSNAME ? name : shown);
                if (o >= sizeof(info->sans))
                        o = sizeof(info->sans) - 1;
        }
        unsigned char serial[40];
        size_t sl = sizeof(serial);
        if (gnutls_x509_crt_get_serial(crt, serial, &sl) == 0)
                sodium_bin2hex(info->serial, sizeof(info->serial), serial, sl);
        info->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
}

/* Reads a PEM file: a regular file, at most PEM_MAX bytes. */
static int read_pem(const char *path, const char *what, gnutls_datum_t *out, char *errstr,
                    size_t errsz)
{
        char *buf = NULL, e[PB_ERRSZ];
        size_t n = 0;
        if (!path || !*path)
                return pb_seterr(errstr, errsz, "no %s file", what), -1;
        if (pb_read_small_file(path, PEM_MAX, &buf, &n, e, sizeof(e)))
                return pb_seterr(errstr, errsz, "cannot read the %s file %.200s: %s", what, path,
                                 e),
                       -1;
        out->data = (unsigned char *)buf;
        out->size = (unsigned)n;
        return 0;
}

static void wipe(gnutls_datum_t *d)
{
        if (d->data) {
                sodium_memzero(d->data, d->size);
                free(d->data);
        }
        d->data = NULL;
        d->size = 0;
}

/* Loads and checks a pair. */
static struct pair *load(const char *cert_file, const char *key_file, char *errstr, size_t errsz)
{
        gnutls_datum_t cpem = {NULL, 0}, kpem = {NULL, 0};
        struct pair *p = calloc(1, sizeof(*p));
        gnutls_x509_crt_t *crts = NULL;
        unsigned ncrt = 0;
        gnutls_pubkey_t pub = NULL;
        gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
        int ok = 0, rc;
        if (!p) {
                pb_seterr(errstr, errsz, "out of memory");
                goto out;
        }
        if (read_pem(cert_file, "certificate", &cpem, errstr, errsz) ||
            read_pem(key_file, "key", &kpem, errstr, errsz))
                goto out;
        p->n = MAX_CHAIN;
        rc = gnutls_pcert_list_import_x509_raw(p->pcert, &p->n, &cpem, GNUTLS_X509_FMT_PEM, 0);
        if (rc < 0 || p->n == 0) {
                p->n = 0;
                pb_seterr(errstr, errsz, "%.200s: not a PEM certificate chain (at most %d): %s",
                          cert_file, MAX_CHAIN, gnutls_strerror(rc));
                goto out;
        }
        if (gnutls_x509_crt_list_import2(&crts, &ncrt, &cpem, GNUTLS_X509_FMT_PEM, 0) < 0 ||
            !ncrt) {
                pb_seterr(errstr, errsz, "%.200s: not a PEM certificate", cert_file);
                goto out;
        }
        describe(crts[0], &p->info);
        p->info.chain = p->n;
        if ((rc = gnutls_privkey_init(&p->key)) < 0 ||
            (rc = gnutls_privkey_import_x509_raw(p->key, &kpem, GNUTLS_X509_FMT_PEM, NULL, 0)) <
                0) {
                /* Never the key's bytes: only the file and GnuTLS's reason. */
                pb_seterr(errstr, errsz, "%.200s: not a PEM private key: %s", key_file,
                          gnutls_strerror(rc));
                goto out;
        }
        /* The key belongs to the leaf: their public keys are the same. */
        if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, p->key, 0, 0) < 0 ||
            gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) < 0 ||
            gnutls_pubkey_export2(p->pcert[0].pubkey, GNUTLS_X509_FMT_DER, &b) < 0 ||
            a.size != b.size || memcmp(a.data, b.data, a.size) != 0) {
                pb_seterr(errstr, errsz,
                          "%.200s is not the key of %.200s (the first certificate of the file "
                          "must be the one the key belongs to)",
                          key_file, cert_file);
                goto out;
        }
        ok = 1;
out:
        wipe(&kpem);
        free(cpem.data);
        gnutls_free(a.data);
        gnutls_free(b.data);
        if (pub)
                gnutls_pubkey_deinit(pub);
        for (unsigned i = 0; i < ncrt; i++)
                gnutls_x509_crt_deinit(crts[i]);
        gnutls_free(crts);
        if (!ok) {
                pair_free(p);
                return NULL;
        }
        return p;
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
        (void)session;
        (void)req_ca_rdn;
        (void)nreqs;
        (void)pk_algos;
        (void)pk_algos_length;
        pthread_mutex_lock(&g_lock);
        struct pair *p = NULL;
        if (g_tls) {
                pthread_mutex_lock(&g_tls->lock);
                p = g_tls->cur;
                pthread_mutex_unlock(&g_tls->lock);
        }
        pthread_mutex_unlock(&g_lock);
        if (!p)
                return -1;
        *pcert = p->pcert;
        *pcert_length = p->n;
        *pkey = p->key;
        return 0;
}

void *pb_tls_cert_callback(void)
{
        return (void *)&retrieve;
}

const char *pb_tls_priorities(void)
{
        return priorities;
}

static void look(const char *path, struct seen *out)
{
        struct stat st;
        memset(out, 0, sizeof(*out));
        if (stat(path, &st) == 0) {
                out->dev = st.st_dev;
                out->ino = st.st_ino;
                out->size = st.st_size;
                out->mtime = st.st_mtim;
        }
}

int pb_tls_changed(pb_tls_t *t)
{
        struct seen now[2];
        look(t->cert_file, &now[0]);
        look(t->key_file, &now[1]);
        int changed = memcmp(now, t->seen, sizeof(now)) != 0;
        memcpy(t->seen, now, sizeof(now));
        return changed;
}

pb_tls_t *pb_tls_new(const char *cert_file, const char *key_file, char *errstr, size_t errsz)
{
        if (sodium_init() < 0)
                return pb_seterr(errstr, errsz, "libsodium failed to initialize"), NULL;
        pb_tls_t *t = calloc(1, sizeof(*t));
        if (!t || !(t->cert_file = strdup(cert_file)) || !(t->key_file = strdup(key_file))) {
                if (t) {
                        free(t->cert_file);
                        free(t);
                }
                return pb_seterr(errstr, errsz, "out of memory"), NULL;
        }
        pthread_mutex_init(&t->lock, NULL);
        pb_tls_changed(t); /* the files as loaded */
        t->cur = load(cert_file, key_file, errstr, errsz);
        if (!t->cur) {
                pb_tls_free(t);
                return NULL;
        }
        pthread_mutex_lock(&g_lock);
        g_tls = t;
        pthread_mutex_unlock(&g_lock);
        return t;
}

int pb_tls_reload(pb_tls_t *t, char *errstr, size_t errsz)
{
        struct pair *p = load(t->cert_file, t->key_file, errstr, errsz);
        if (!p)
                return -1;
        int64_t now = pb_mono_ms();
        struct pair *free_list = NULL;
        pthread_mutex_lock(&t->lock);
        /* Pairs retired long enough ago can no longer be in a handshake. */
        for (struct pair **pp = &t->retired; *pp;) {
                if (now - (*pp)->retired_ms >= PB_TLS_RETIRE_MS) {
                        struct pair *old = *pp;
                        *pp = old->next;
                        old->next = free_list;
                        free_list = old;
                        t->nretired--;
                } else {
                        pp = &(*pp)->next;
                }
        }
        if (t->nretired >= RETIRED_MAX) {
                pthread_mutex_unlock(&t->lock);
                pair_free(p);
                while (free_list) {
                        struct pair *n = free_list->next;
                        pair_free(free_list);
                        free_list = n;
                }
                return pb_seterr(errstr, errsz,
                                 "%d reloads within %d minutes: the old pairs are still kept; "
                                 "try again later",
                                 RETIRED_MAX, (int)(PB_TLS_RETIRE_MS / 60000)),
                       -1;
        }
        t->cur->retired_ms = now;
        t->cur->next = t->retired;
        t->retired = t->cur;
        t->nretired++;
        t->cur = p;
        pthread_mutex_unlock(&t->lock);
        while (free_list) {
                struct pair *n = free_list->next;
                pair_free(free_list);
                free_list = n;
        }
        return 0;
}

void pb_tls_info(pb_tls_t *t, pb_tls_info_t *out)
{
        pthread_mutex_lock(&t->lock);
        *out = t->cur->info;
        pthread_mutex_unlock(&t->lock);
}

int pb_tls_check(const char *cert_file, const char *key_file, pb_tls_info_t *out, char *errstr,
                 size_t errsz)
{
        if (sodium_init() < 0)
                return pb_seterr(errstr, errsz, "libsodium failed to initialize"), -1;
        struct pair *p = load(cert_file, key_file, errstr, errsz);
        if (!p)
                return -1;
        *out = p->info;
        pair_free(p);
        return 0;
}

void pb_tls_free(pb_tls_t *t)
{
        if (!t)
                return;
        pthread_mutex_lock(&g_lock);
        if (g_tls == t)
                g_tls = NULL;
        pthread_mutex_unlock(&g_lock);
        pair_free(t->cur);
        while (t->retired) {
                struct pair *n = t->retired->next;
                pair_free(t->retired);
                t->retired = n;
        }
        pthread_mutex_destroy(&t->lock);
        free(t->cert_file);
        free(t->key_file);
        free(t);
}

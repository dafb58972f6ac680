/* TLS for the webhook listener (GnuTLS, through libmicrohttpd): the
 * certificate chain and key from their files, checked to belong together,
 * handed to each handshake by libmicrohttpd's certificate callback, and
 * replaced without a restart (pb_tls_reload(), on SIGHUP or POST /-/reload):
 * new handshakes use the new pair, connections already open keep theirs. A
 * pair that does not load or does not match is refused and the old one
 * stays.
 *
 * TLS 1.2 and 1.3 only, AEAD ciphers with ECDHE, no client-initiated
 * renegotiation (GnuTLS refuses it by default; TLS 1.3 has none); ALPN
 * http/1.1 (libmicrohttpd's).
 *
 * Threads: reload from any thread; the callback runs on the listener's.
 * One pb_tls_t per process (libmicrohttpd's callback carries no context).
 * Ownership: pb_tls_new()/pb_tls_free(); a replaced pair is kept until no
 * handshake can still be using it (PB_TLS_RETIRE_MS), then freed. */
#ifndef PB_HTTP_TLS_H
#define PB_HTTP_TLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_tls pb_tls_t;

/* What a loaded pair says of itself. */
typedef struct pb_tls_info {
        char subject[256];
        char sans[512];    /* "DNS:a, IP:127.0.0.1", "" if none */
        char serial[80];   /* hex */
        int64_t not_after; /* Unix seconds */
        unsigned chain;    /* certificates in the file (the leaf first) */
} pb_tls_info_t;

/* A replaced pair lives this long after its replacement: a handshake that
 * began with it has finished (or been cut by webhook.request_timeout_ms,
 * whose maximum is below it) by then. */
#define PB_TLS_RETIRE_MS ((int64_t)10 * 60 * 1000)

/* Loads cert_file (PEM: the leaf first, then its chain) and key_file (PEM;
 * a regular file, read bounded and wiped after use). Returns NULL with
 * errstr set (unreadable, not PEM, no certificate, the key of another
 * certificate). Makes it the process's listener pair. */
pb_tls_t *pb_tls_new(const char *cert_file, const char *key_file, char *errstr, size_t errsz);

/* Reads the files again. 0: the new pair serves new handshakes; -1 with
 * errstr: the old pair stays. */
int pb_tls_reload(pb_tls_t *t, char *errstr, size_t errsz);

/* 1 if either file is not what it was when last looked at (another inode,
 * size or modification time: a renewal, a Kubernetes Secret's swap), 0 if
 * not; looks again each call. For webhook.tls_watch_s. */
int pb_tls_changed(pb_tls_t *t);

/* The pair now served. */
void pb_tls_info(pb_tls_t *t, pb_tls_info_t *out);

/* Checks the files as pb_tls_new() would and describes them, without
 * serving them (check-config). 0, or -1 with errstr. */
int pb_tls_check(const char *cert_file, const char *key_file, pb_tls_info_t *out, char *errstr,
                 size_t errsz);

/* libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK (a
 * gnutls_certificate_retrieve_function2 *) and MHD_OPTION_HTTPS_PRIORITIES. */
void *pb_tls_cert_callback(void);
const char *pb_tls_priorities(void);

/* Frees t and every pair it kept. */
void pb_tls_free(pb_tls_t *t);

#endif

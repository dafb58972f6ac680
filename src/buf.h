/* Capped growable byte buffer, after curl's dynbuf: every buffer is created
 * with a hard maximum, an append that would pass it fails (and the buffer
 * frees its memory), and the bytes are always NUL-terminated.
 *
 * Ownership: a pb_buf_t lives in its owner's struct (no _new); pb_buf_free()
 * releases its memory, pb_buf_take() hands the bytes to the caller (free()). */
#ifndef PB_BUF_H
#define PB_BUF_H

#include <stddef.h>

typedef struct pb_buf {
        char *mem;
        size_t len;   /* bytes held, not counting the NUL */
        size_t cap;   /* allocated */
        size_t max;   /* most bytes it may ever hold */
        int overflow; /* an append was refused for the bound */
} pb_buf_t;

/* Prepares an empty buffer holding at most max bytes. */
void pb_buf_init(pb_buf_t *b, size_t max);

/* Appends n bytes. Returns 0, or -1 (buffer freed, overflow set if the
 * bound was the reason) when it would pass max or memory runs out. */
int pb_buf_add(pb_buf_t *b, const void *data, size_t n);

/* Appends a NUL-terminated string; as pb_buf_add(). */
int pb_buf_adds(pb_buf_t *b, const char *s);

/* Empties the buffer, keeping its memory and bound. */
void pb_buf_reset(pb_buf_t *b);

/* The bytes (never NULL: "" when empty) and their length. */
const char *pb_buf_ptr(const pb_buf_t *b);
size_t pb_buf_len(const pb_buf_t *b);

/* Hands the bytes to the caller (malloc'd, NUL-terminated; "" when empty)
 * and leaves the buffer empty. *len may be NULL. Returns NULL if out of
 * memory. */
char *pb_buf_take(pb_buf_t *b, size_t *len);

/* Frees the memory; the buffer stays usable (empty, same bound). */
void pb_buf_free(pb_buf_t *b);

#endif

#include "buf.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP 256

void pb_buf_init(pb_buf_t *b, size_t max)
{
        b->mem = NULL;
        b->len = b->cap = 0;
        b->max = max;
        b->overflow = 0;
}

int pb_buf_add(pb_buf_t *b, const void *data, size_t n)
{
        if (n > b->max || b->len > b->max - n) {
                pb_buf_free(b);
                b->overflow = 1;
                return -1;
        }
        if (b->len + n + 1 > b->cap) {
                size_t ncap = b->cap ? b->cap : MIN_CAP;
                while (ncap < b->len + n + 1)
                        ncap *= 2;
                if (ncap > b->max + 1)
                        ncap = b->max + 1;
                char *m = realloc(b->mem, ncap);
                if (!m) {
                        pb_buf_free(b);
                        return -1;
                }
                b->mem = m;
                b->cap = ncap;
        }
        if (n)
                memcpy(b->mem + b->len, data, n);
        b->len += n;
        b->mem[b->len] = '\0';
        return 0;
}

int pb_buf_adds(pb_buf_t *b, const char *s)
{
        return pb_buf_add(b, s, strlen(s));
}

void pb_buf_reset(pb_buf_t *b)
{
        b->len = 0;
        b->overflow = 0;
        if (b->mem)
                b->mem[0] = '\0';
}

const char *pb_buf_ptr(const pb_buf_t *b)
{
        return b->mem ? b->mem : "";
}

size_t pb_buf_len(const pb_buf_t *b)
{
        return b->len;
}

char *pb_buf_take(pb_buf_t *b, size_t *len)
{
        char *m = b->mem ? b->mem : strdup("");
        if (len)
                *len = b->len;
        b->mem = NULL;
        b->len = b->cap = 0;
        return m;
}

void pb_buf_free(pb_buf_t *b)
{
        free(b->mem);
        b->mem = NULL;
        b->len = b->cap = 0;
}

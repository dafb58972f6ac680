#include "envsubst.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

/* Expanded values are bounded so a runaway variable cannot eat memory. */
#define ENVSUBST_MAX ((size_t)64 * 1024)

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
        if (*len + n + 1 > ENVSUBST_MAX)
                return -1;
        if (*len + n + 1 > *cap) {
                size_t ncap = (*cap ? *cap * 2 : 64);
                while (ncap < *len + n + 1)
                        ncap *= 2;
                char *nb = realloc(*buf, ncap);
                if (!nb)
                        return -1;
                *buf = nb;
                *cap = ncap;
        }
        memcpy(*buf + *len, s, n);
        *len += n;
        (*buf)[*len] = '\0';
        return 0;
}

int pb_envsubst(const char *in, pb_env_lookup_fn *lookup, char **out, char *errstr, size_t errsz)
{
        char *buf = NULL;
        size_t len = 0, cap = 0;
        const char *p = in;

        *out = NULL;
        if (append(&buf, &len, &cap, "", 0))
                return pb_seterr(errstr, errsz, "out of memory");
        while (*p) {
                const char *d = strchr(p, '$');
                if (!d) {
                        if (append(&buf, &len, &cap, p, strlen(p)))
                                goto toolong;
                        break;
                }
                if (append(&buf, &len, &cap, p, (size_t)(d - p)))
                        goto toolong;
                if (d[1] == '$') {
                        if (append(&buf, &len, &cap, "$", 1))
                                goto toolong;
                        p = d + 2;
                        continue;
                }
                if (d[1] != '{') { /* a lone '$' is literal */
                        if (append(&buf, &len, &cap, "$", 1))
                                goto toolong;
                        p = d + 1;
                        continue;
                }
                const char *name = d + 2, *q = name;
                while (*q == '_' || isalnum((unsigned char)*q))
                        q++;
                size_t nlen = (size_t)(q - name);
                if (nlen == 0 || nlen > 255 || isdigit((unsigned char)*name)) {
                        free(buf);
                        return pb_seterr(errstr, errsz,
                                         "invalid variable reference at \"%.20s\": expected "
                                         "${NAME} or ${NAME:-default}",
                                         d);
                }
                char vname[256];
                memcpy(vname, name, nlen);
                vname[nlen] = '\0';
                const char *defval = NULL;
                size_t deflen = 0;
                if (q[0] == ':' && q[1] == '-') {
                        defval = q + 2;
                        const char *e = strchr(defval, '}');
                        if (!e) {
                                free(buf);
                                return pb_seterr(errstr, errsz, "unterminated ${%s:-...} reference",
                                                 vname);
                        }
                        deflen = (size_t)(e - defval);
                        q = e;
                }
                if (*q != '}') {
                        free(buf);
                        return pb_seterr(errstr, errsz, "unterminated ${%s} reference", vname);
                }
                const char *val = lookup(vname);
                if (val && *val) {
                        if (append(&buf, &len, &cap, val, strlen(val)))
                                goto toolong;
                } else if (defval) {
                        if (append(&buf, &len, &cap, defval, deflen))
                                goto toolong;
                } else if (val) { /* set but empty, no default: empty is a value */
                } else {
                        free(buf);
                        return pb_seterr(errstr, errsz,
                                         "environment variable %s is not set (use "
                                         "${%s:-default} to give a default)",
                                         vname, vname);
                }
                p = q + 1;
        }
        *out = buf;
        return 0;
toolong:
        free(buf);
        return pb_seterr(errstr, errsz, "expanded value exceeds %zu bytes", ENVSUBST_MAX);
}

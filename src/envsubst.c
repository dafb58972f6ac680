#include "envsubst.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pb.h"

/* Expanded values are bounded so a runaway variable cannot eat memory. */
#define ENVSUBST_MAX ((size_t)64 * 1024)

int pb_envsubst(const char *in, pb_env_lookup_fn *lookup, char **out, char *errstr, size_t errsz)
{
        pb_buf_t buf;
        pb_buf_init(&buf, ENVSUBST_MAX - 1);
        const char *p = in;

        *out = NULL;
        while (*p) {
                const char *d = strchr(p, '$');
                if (!d) {
                        if (pb_buf_add(&buf, p, strlen(p)))
                                goto toolong;
                        break;
                }
                if (pb_buf_add(&buf, p, (size_t)(d - p)))
                        goto toolong;
                if (d[1] == '$') {
                        if (pb_buf_add(&buf, "$", 1))
                                goto toolong;
                        p = d + 2;
                        continue;
                }
                if (d[1] != '{') { /* a lone '$' is literal */
                        if (pb_buf_add(&buf, "$", 1))
                                goto toolong;
                        p = d + 1;
                        continue;
                }
                const char *name = d + 2, *q = name;
                while (*q == '_' || isalnum((unsigned char)*q))
                        q++;
                size_t nlen = (size_t)(q - name);
                if (nlen == 0 || nlen > 255 || isdigit((unsigned char)*name)) {
                        pb_buf_free(&buf);
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
                                pb_buf_free(&buf);
                                return pb_seterr(errstr, errsz,
                                                 "unterminated ${%.64s:-...} reference", vname);
                        }
                        deflen = (size_t)(e - defval);
                        q = e;
                }
                if (*q != '}') {
                        pb_buf_free(&buf);
                        return pb_seterr(errstr, errsz, "unterminated ${%.64s} reference", vname);
                }
                const char *val = lookup(vname);
                if (val && *val) {
                        if (pb_buf_add(&buf, val, strlen(val)))
                                goto toolong;
                } else if (defval) {
                        if (pb_buf_add(&buf, defval, deflen))
                                goto toolong;
                } else if (val) { /* set but empty, no default: empty is a value */
                } else {
                        pb_buf_free(&buf);
                        return pb_seterr(errstr, errsz,
                                         "environment variable %.64s is not set (use "
                                         "${%.64s:-default} to give a default)",
                                         vname, vname);
                }
                p = q + 1;
        }
        *out = pb_buf_take(&buf, NULL);
        if (!*out)
                return pb_seterr(errstr, errsz, "out of memory");
        return 0;
toolong:
        if (!buf.overflow)
                return pb_seterr(errstr, errsz, "out of memory");
        return pb_seterr(errstr, errsz, "expanded value exceeds %zu bytes", ENVSUBST_MAX);
}

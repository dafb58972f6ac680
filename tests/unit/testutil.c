#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

char *tu_read_file(const char *path, size_t *len)
{
        char full[1024];
        if (path[0] == '/')
                snprintf(full, sizeof(full), "%s", path);
        else
                snprintf(full, sizeof(full), "%s/%s", PB_FIXTURES, path);
        FILE *f = fopen(full, "rb");
        if (!f)
                fail_msg("cannot open %s", full);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        buf[n] = '\0';
        if (len)
                *len = (size_t)n;
        return buf;
}

#define MAX_ENV 32
static char *env_names[MAX_ENV], *env_values[MAX_ENV];

const char *tu_env_lookup(const char *name)
{
        for (int i = 0; i < MAX_ENV; i++)
                if (env_names[i] && strcmp(env_names[i], name) == 0)
                        return env_values[i];
        return NULL;
}

void tu_setenv(const char *name, const char *value)
{
        for (int i = 0; i < MAX_ENV; i++)
                if (!env_names[i]) {
                        env_names[i] = strdup(name);
                        env_values[i] = strdup(value);
                        return;
                }
        fail_msg("fake environment full");
}

void tu_clearenv(void)
{
        for (int i = 0; i < MAX_ENV; i++) {
                free(env_names[i]);
                free(env_values[i]);
                env_names[i] = env_values[i] = NULL;
        }
}

const char *tu_write_temp(const char *content)
{
        static char path[64];
        snprintf(path, sizeof(path), "/tmp/pb-test-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        size_t n = strlen(content);
        assert_int_equal(write(fd, content, n), (ssize_t)n);
        close(fd);
        return path;
}

void tu_dump_envelope(const char *json, size_t len)
{
        FILE *f = fopen(PB_ENVELOPE_DUMP, "ab");
        if (!f)
                return;
        fwrite(json, 1, len, f);
        fputc('\n', f);
        fclose(f);
}

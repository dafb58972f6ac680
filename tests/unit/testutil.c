#include "testutil.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "poll_election.h"

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

void tu_fake_api_start(tu_fake_api_t *f, const char *flags)
{
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd),
                         "exec python3 %s/tests/fake_telnyx/fake_telnyx.py --port 0 %s",
                         PB_SOURCE_DIR, flags ? flags : "");
                dup2(fds[1], 1);
                close(fds[0]);
                /* Gone with the test, even one that failed halfway. */
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        FILE *out = fdopen(fds[0], "r");
        char line[128] = "";
        if (!fgets(line, sizeof(line), out) || sscanf(line, "listening on %u", &f->port) != 1)
                fail_msg("the fake Telnyx API did not start: %s", line);
        fclose(out);
        f->pid = pid;
        snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u/v2", f->port);
}

void tu_fake_api_stop(tu_fake_api_t *f)
{
        if (f->pid > 0) {
                kill(f->pid, SIGTERM);
                waitpid(f->pid, NULL, 0);
        }
        f->pid = 0;
}

static size_t admin_sink(char *p, size_t size, size_t n, void *ud)
{
        char *out = ud;
        size_t have = strlen(out), k = size * n;
        if (have + k < 65535) {
                memcpy(out + have, p, k);
                out[have + k] = '\0';
        }
        return k;
}

const char *tu_fake_api_admin(const tu_fake_api_t *f, const char *path, const char *body)
{
        static char out[65536];
        char url[256];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
        out[0] = '\0';
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, admin_sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        if (body)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_cleanup(c);
        return out;
}

size_t tu_fake_api_portouts(const tu_fake_api_t *f, const char *ages_json, char (*ids)[64],
                            size_t max)
{
        char body[4096];
        snprintf(body, sizeof(body), "{\"ages_s\":%s}", ages_json);
        json_object *made =
            json_tokener_parse(tu_fake_api_admin(f, "/_admin/portouts/create", body));
        json_object *list = json_object_object_get(made, "data");
        size_t n = list ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < n && i < max; i++)
                snprintf(ids[i], 64, "%s",
                         json_object_get_string(
                             json_object_object_get(json_object_array_get_idx(list, i), "id")));
        json_object_put(made);
        return n;
}

int tu_slack(void)
{
#if defined(__SANITIZE_ADDRESS__)
        return 2;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
        return 2;
#endif
#endif
        const char *e = getenv("PB_LATENCY_SLACK");
        int n = e ? atoi(e) : 1;
        return n > 0 ? n : 1;
}

/* Reads an open file from its start into a new NUL-terminated buffer. */
static char *slurp_fd(int fd)
{
        off_t n = lseek(fd, 0, SEEK_END);
        char *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
        assert_non_null(buf);
        ssize_t got = n > 0 ? pread(fd, buf, (size_t)n, 0) : 0;
        buf[got > 0 ? got : 0] = '\0';
        return buf;
}

int tu_run_cmd(tu_cmd_fn *cmd, const char *config, const char *args, char **out, char **err)
{
        char line[1024], *argv[32], *save = NULL;
        int argc = 0;
        snprintf(line, sizeof(line), "%s", args);
        for (char *a = strtok_r(line, " ", &save); a && argc < 31; a = strtok_r(NULL, " ", &save))
                argv[argc++] = a;
        argv[argc] = NULL;
        pb_globals_t g = {config};
        char o_tpl[] = "/tmp/pb-out-XXXXXX", e_tpl[] = "/tmp/pb-err-XXXXXX";
        int o = mkstemp(o_tpl), e = mkstemp(e_tpl);
        assert_true(o >= 0 && e >= 0);
        unlink(o_tpl);
        unlink(e_tpl);
        fflush(stdout);
        fflush(stderr);
        int saved_o = dup(1), saved_e = dup(2);
        dup2(o, 1);
        dup2(e, 2);
        int rc = cmd(&g, argc, argv);
        fflush(stdout);
        fflush(stderr);
        dup2(saved_o, 1);
        dup2(saved_e, 2);
        close(saved_o);
        close(saved_e);
        *out = slurp_fd(o);
        *err = slurp_fd(e);
        close(o);
        close(e);
        return rc;
}

uint64_t tu_always_term(void *ctx)
{
        (void)ctx;
        return 1;
}

int tu_refused_fence(void *ctx, const char *topic, int32_t partition, int64_t offset,
                     const char *meta, char *errstr, size_t errsz)
{
        (void)ctx;
        (void)topic;
        (void)partition;
        (void)offset;
        (void)meta;
        snprintf(errstr, errsz, "ILLEGAL_GENERATION (as Kafka answers a deposed member)");
        return -1;
}

uint64_t tu_election_term(void *ctx)
{
        return pb_election_leader_term(ctx);
}

int tu_election_fence(void *ctx, const char *topic, int32_t partition, int64_t offset,
                      const char *meta, char *errstr, size_t errsz)
{
        return pb_election_fence(ctx, topic, partition, offset, meta, errstr, errsz);
}

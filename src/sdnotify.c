#include "sdnotify.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int pb_sd_notify(const char *state)
{
        const char *path = getenv("NOTIFY_SOCKET");
        if (!path || !*path)
                return 0;
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        size_t n = strlen(path);
        if (n >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
                return -1;
        memcpy(sa.sun_path, path, n);
        if (path[0] == '@')
                sa.sun_path[0] = '\0'; /* an abstract socket */
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (fd < 0)
                return -1;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
        close(fd);
        return w < 0 ? -1 : 1;
}

int64_t pb_sd_watchdog_usec(void)
{
        const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
        if (!us || !*us)
                return 0;
        if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
                return 0;
        long long v = strtoll(us, NULL, 10);
        return v > 0 ? v : 0;
}

/*
 * The benchmark's yardstick for the design itself, not a server to use: the
 * least a blocking, one-thread-per-connection file server can do per request,
 * so that scripts/bench.py can show how much of tinyhttpd's cost is its own
 * and how much is the design's (a thread woken, a context switch, per
 * request). No timeouts, no limits, no validation beyond what the benchmark
 * needs: it serves GET for files under the root given on the command line,
 * one recv per request head, and closes on "Connection: close".
 *
 * Build: cc -O2 -pthread scripts/baseline.c -o baseline
 * Run:   ./baseline ROOT PORT   (listens on 127.0.0.1 only)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define INLINE_MAX (16 * 1024)

static int root_fd;

static int send_all(int fd, const char *buf, size_t len, int flags) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, flags | MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int answer(int fd, const char *status) {
    char head[128];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status);
    return send_all(fd, head, (size_t)n, 0);
}

/* Answers one request head in req (NUL-terminated); returns -1 to close. */
static int serve(int fd, char *req, char *out) {
    char *path = req + 5;
    char *end = strchr(path, ' ');
    if (strncmp(req, "GET /", 5) != 0 || end == NULL || strstr(path, "..") != NULL) {
        answer(fd, "400 Bad Request");
        return -1;
    }
    *end = '\0';
    int file = openat(root_fd, path, O_RDONLY | O_CLOEXEC);
    if (file < 0)
        return answer(fd, "404 Not Found");
    struct stat st;
    int result = -1;
    if (fstat(file, &st) == 0 && S_ISREG(st.st_mode)) {
        int head = snprintf(out, 256, "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n\r\n",
                            (long long)st.st_size);
        if (st.st_size <= INLINE_MAX) {
            if (pread(file, out + head, (size_t)st.st_size, 0) == st.st_size)
                result = send_all(fd, out, (size_t)head + (size_t)st.st_size, 0);
        } else if (send_all(fd, out, (size_t)head, MSG_MORE) == 0) {
            off_t offset = 0;
            result = 0;
            while (offset < st.st_size) {
                if (sendfile(fd, file, &offset, (size_t)(st.st_size - offset)) <= 0) {
                    result = -1;
                    break;
                }
            }
        }
    } else {
        result = answer(fd, "404 Not Found");
    }
    close(file);
    return result;
}

static void *connection(void *arg) {
    int fd = (int)(long)arg;
    char req[4096];
    char *out = malloc(256 + INLINE_MAX);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
        ssize_t n = recv(fd, req, sizeof req - 1, 0);
        if (n <= 0)
            break;
        req[n] = '\0';
        int closing = strcasestr(req, "\r\nConnection: close") != NULL;
        if (serve(fd, req, out) < 0 || closing)
            break;
    }
    free(out);
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ROOT PORT\n", argv[0]);
        return 2;
    }
    /* sendfile has no MSG_NOSIGNAL: a client that leaves mid-file must not
     * kill the server. */
    signal(SIGPIPE, SIG_IGN);
    root_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (root_fd < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(listener, 4096) < 0) {
        perror("baseline");
        return 1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_t thread;
        if (pthread_create(&thread, &attr, connection, (void *)(long)fd) != 0)
            close(fd);
    }
}

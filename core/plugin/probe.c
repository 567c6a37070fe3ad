/* Crash isolation for plugin loading: the first contact with a plugin file
 * (dlopen runs its constructors, then kgm_task_entry, then the host reads the
 * descriptor) happens in a forked child, so a plugin that crashes or hangs
 * there costs an error message naming the file, not the host process (a sweep
 * validates every plugin of a manifest in the parent before it starts runs). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/plugin/plugin_internal.h"

void kgm_plugin_probe_stage(int fd, char stage) {
    if (fd < 0) return;
    ssize_t w;
    do w = write(fd, &stage, 1);
    while (w < 0 && errno == EINTR);
}

static const char *stage_text(char stage) {
    switch (stage) {
    case KGM_PROBE_DLOPEN: return "while being loaded (dlopen runs its constructors)";
    case KGM_PROBE_ENTRY: return "in " KGM_TASK_ENTRY_SYMBOL;
    case KGM_PROBE_DESC: return "while the host read its descriptor (a pointer in it is invalid)";
    }
    return "before it was loaded";
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read stage bytes until EOF (the child exited) or the deadline; the last
 * byte read is the stage the child reached. Returns false on timeout. */
static bool read_stages(int fd, double timeout_s, char *last) {
    double deadline = now_s() + timeout_s;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000.0) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? false : true;
        char buf[16];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true; /* EOF: the child is gone */
        *last = buf[n - 1];
    }
}

kgm_status kgm_plugin_probe(const char *path, kgm_plugin_probe_fn run, double timeout_s) {
    int fd[2];
    if (pipe(fd) != 0) return KGM_ERR(KGM_ERR_IO, "%s: cannot probe the plugin: pipe: %s", path, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fd[0]);
        close(fd[1]);
        return KGM_ERR(KGM_ERR_IO, "%s: cannot probe the plugin: fork: %s", path, strerror(e));
    }
    if (pid == 0) {
        close(fd[0]);
        run(path, fd[1]);
        kgm_plugin_probe_stage(fd[1], KGM_PROBE_DONE);
        _exit(0); /* no atexit handlers, no second flush of the parent's stdio buffers */
    }
    close(fd[1]);
    char last = 0;
    bool finished = read_stages(fd[0], timeout_s, &last);
    close(fd[0]);
    if (!finished) kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!finished)
        return KGM_ERR(KGM_ERR_PLUGIN, "plugin %s did not return %s within %g s (killed)", path, stage_text(last),
                       timeout_s);
    if (WIFSIGNALED(ws))
        return KGM_ERR(KGM_ERR_PLUGIN, "plugin %s crashed %s (signal %d, %s)", path, stage_text(last),
                       WTERMSIG(ws), strsignal(WTERMSIG(ws)));
    /* The child writes KGM_PROBE_DONE last: exiting before that means the
     * plugin called exit() itself, which would end the host just the same. */
    if (last != KGM_PROBE_DONE)
        return KGM_ERR(KGM_ERR_PLUGIN, "plugin %s ended the process (exit status %d) %s", path,
                       WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, stage_text(last));
    return KGM_OK;
}

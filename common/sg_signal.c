#include "sg_signal.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t sg_stop_requested = 0;
volatile sig_atomic_t sg_reload_requested = 0;

static void sg_signal_reload(int sig)
{
        (void)sig;
        sg_reload_requested = 1;
}

void sg_signal_install_reload(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = sg_signal_reload;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGHUP, &sa, NULL);
}

static void sg_signal_handler(int sig)
{
        (void)sig;
        if (sg_stop_requested)
                _exit(130);
        sg_stop_requested = 1;
}

void sg_signal_install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = sg_signal_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
}

int sg_sleep_ms(int ms)
{
        while (ms > 0 && !sg_stop_requested) {
                int step = ms > 100 ? 100 : ms;
                struct timespec ts = {0, (long)step * 1000000L};
                nanosleep(&ts, NULL);
                ms -= step;
        }
        return sg_stop_requested ? 1 : 0;
}

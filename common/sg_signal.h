#ifndef SG_SIGNAL_H
#define SG_SIGNAL_H

#include <signal.h>

/* Set by SIGINT/SIGTERM. The handler only flips this flag; a second signal
 * while a drain is under way exits at once (status 130). */
extern volatile sig_atomic_t sg_stop_requested;

/* Installs the SIGINT/SIGTERM handlers and ignores SIGPIPE. */
void sg_signal_install(void);

/* Set by SIGHUP once sg_signal_install_reload ran: a daemon reads its
 * configuration again (and clears the flag). */
extern volatile sig_atomic_t sg_reload_requested;
void sg_signal_install_reload(void);

/* Sleeps up to ms milliseconds, waking early when a stop is requested.
 * Returns 1 if a stop was requested, else 0. */
int sg_sleep_ms(int ms);

#endif

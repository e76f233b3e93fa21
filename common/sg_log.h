#ifndef SG_LOG_H
#define SG_LOG_H

/* One-line logging to stderr: time, level, component, message, key=value
 * fields. The level is checked before anything is formatted. Never pass
 * payloads or personal fields: ids, offsets and counts only. */

typedef enum sg_log_level {
        SG_LOG_DEBUG = 0,
        SG_LOG_INFO = 1,
        SG_LOG_WARN = 2,
        SG_LOG_ERROR = 3,
} sg_log_level_t;

/* Sets the component name (copied) and the minimum level. */
void sg_log_init(const char *component, sg_log_level_t level);

/* Parses "debug", "info", "warn" or "error". Returns -1 on anything else. */
int sg_log_level_parse(const char *s);

int sg_log_enabled(sg_log_level_t level);

void sg_log(sg_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sg_debug(...) sg_log(SG_LOG_DEBUG, __VA_ARGS__)
#define sg_info(...) sg_log(SG_LOG_INFO, __VA_ARGS__)
#define sg_warn(...) sg_log(SG_LOG_WARN, __VA_ARGS__)
#define sg_error(...) sg_log(SG_LOG_ERROR, __VA_ARGS__)

#endif

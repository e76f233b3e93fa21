#include "sg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char sg_log_component[64] = "streamguard";
static sg_log_level_t sg_log_min = SG_LOG_INFO;

static const char *const sg_log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void sg_log_init(const char *component, sg_log_level_t level)
{
        snprintf(sg_log_component, sizeof(sg_log_component), "%s", component);
        sg_log_min = level;
}

int sg_log_level_parse(const char *s)
{
        for (int i = 0; i < 4; i++)
                if (strcasecmp(s, sg_log_names[i]) == 0)
                        return i;
        if (strcasecmp(s, "warning") == 0)
                return SG_LOG_WARN;
        return -1;
}

int sg_log_enabled(sg_log_level_t level)
{
        return level >= sg_log_min;
}

void sg_log(sg_log_level_t level, const char *fmt, ...)
{
        char line[2048];
        struct timespec ts;
        struct tm tm;
        size_t n;
        va_list ap;

        if (level < sg_log_min)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s ",
                              ts.tv_nsec / 1000000L, sg_log_names[level],
                              sg_log_component);
        if (n < sizeof(line)) {
                va_start(ap, fmt);
                vsnprintf(line + n, sizeof(line) - n, fmt, ap);
                va_end(ap);
        }
        /* One write per line so concurrent writers do not interleave. */
        n = strlen(line);
        if (n > sizeof(line) - 2)
                n = sizeof(line) - 2;
        line[n++] = '\n';
        fwrite(line, 1, n, stderr);
}

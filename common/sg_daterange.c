#include "sg_daterange.h"
#include "sg_time.h"

#include <string.h>

void sg_daterange_args_init(sg_daterange_args_t *args)
{
        memset(args, 0, sizeof(*args));
}

void sg_daterange_opts(sg_daterange_args_t *args, sg_opt_t *out)
{
        const sg_opt_t opts[] = {
            {.name = "date", .kind = SG_OPT_STRING, .dest = &args->date,
             .arg = "YYYY-MM-DD", .help = "one day"},
            {.name = "from", .kind = SG_OPT_STRING, .dest = &args->from,
             .arg = "YYYY-MM-DD", .help = "from this day ..."},
            {.name = "to", .kind = SG_OPT_STRING, .dest = &args->to,
             .arg = "YYYY-MM-DD",
             .help = "... to this day, inclusive (default: yesterday)"},
            {.name = "all", .kind = SG_OPT_FLAG, .dest = &args->all,
             .help = "every date"},
            SG_OPT_END,
        };
        memcpy(out, opts, sizeof(opts));
}

static int sg_daterange_check(const char *flag, const char *s, char *errstr,
                              size_t errstr_size)
{
        long long day;

        if (sg_time_parse_date(s, &day) == 0)
                return 0;
        snprintf(errstr, errstr_size,
                 "%s needs a real date as YYYY-MM-DD, got '%s'", flag, s);
        return -1;
}

int sg_daterange_resolve(const sg_daterange_args_t *args, time_t now,
                         sg_daterange_t *out, char *errstr, size_t errstr_size)
{
        char yesterday[11];

        memset(out, 0, sizeof(*out));
        sg_time_utc_date((long long)now, 1, yesterday);
        if (args->all && (args->date || args->from || args->to)) {
                snprintf(errstr, errstr_size,
                         "--all cannot be combined with --date, --from or "
                         "--to");
                return -1;
        }
        if (args->date && (args->from || args->to)) {
                snprintf(errstr, errstr_size,
                         "--date cannot be combined with --from or --to");
                return -1;
        }
        if (args->to && !args->from) {
                snprintf(errstr, errstr_size, "--to needs --from");
                return -1;
        }
        if (args->all) {
                out->all = true;
                return 0;
        }
        if (args->date) {
                if (sg_daterange_check("--date", args->date, errstr,
                                       errstr_size) < 0)
                        return -1;
                memcpy(out->from, args->date, 11);
                memcpy(out->to, args->date, 11);
                return 0;
        }
        if (args->from) {
                if (sg_daterange_check("--from", args->from, errstr,
                                       errstr_size) < 0)
                        return -1;
                if (args->to && sg_daterange_check("--to", args->to, errstr,
                                                   errstr_size) < 0)
                        return -1;
                memcpy(out->from, args->from, 11);
                memcpy(out->to, args->to ? args->to : yesterday, 11);
                /* YYYY-MM-DD compares as text in date order. */
                if (strcmp(out->from, out->to) > 0) {
                        snprintf(errstr, errstr_size,
                                 "--from %s is after %s %s", out->from,
                                 args->to ? "--to" : "yesterday (UTC),",
                                 out->to);
                        memset(out, 0, sizeof(*out));
                        return -1;
                }
                return 0;
        }
        memcpy(out->from, yesterday, 11);
        memcpy(out->to, yesterday, 11);
        return 0;
}

sg_cli_status_t sg_daterange_parse(const sg_cli_t *cli,
                                   sg_cli_common_t *common,
                                   sg_daterange_args_t *args,
                                   sg_opt_t *date_opts, sg_daterange_t *dr,
                                   int argc, char **argv)
{
        char err[256];
        sg_cli_status_t st;

        sg_cli_common_init(common);
        sg_daterange_args_init(args);
        sg_daterange_opts(args, date_opts);
        st = sg_cli_parse(cli, common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;
        if (sg_daterange_resolve(args, time(NULL), dr, err, sizeof(err)) < 0)
                return (sg_cli_status_t)sg_cli_usage_error(cli, "%s", err);
        return SG_CLI_RUN;
}

const char *sg_daterange_lower(const sg_daterange_t *dr)
{
        return dr->all ? "-infinity" : dr->from;
}

const char *sg_daterange_upper(const sg_daterange_t *dr)
{
        return dr->all ? "infinity" : dr->to;
}

void sg_daterange_describe(const sg_daterange_t *dr, char *out, size_t size)
{
        if (dr->all)
                snprintf(out, size, "all dates");
        else if (strcmp(dr->from, dr->to) == 0)
                snprintf(out, size, "%s", dr->from);
        else
                snprintf(out, size, "%s..%s", dr->from, dr->to);
}


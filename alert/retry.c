#include "retry.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

sg_retry_verdict_t sg_retry_classify(int curl_code, long http_status,
                                     char reason[SG_RETRY_REASON_MAX])
{
        reason[0] = '\0';
        /* A response whose body we cut short (CURLE_WRITE_ERROR: the size
         * cap) still has its status: the receiver has answered. */
        if (http_status >= 100 &&
            (curl_code == CURLE_OK || curl_code == CURLE_WRITE_ERROR)) {
                if (http_status >= 200 && http_status <= 299)
                        return SG_RETRY_SENT;
                snprintf(reason, SG_RETRY_REASON_MAX, "http_%ld", http_status);
                if (http_status == 408 || http_status == 429 ||
                    (http_status >= 500 && http_status <= 599))
                        return SG_RETRY_AGAIN;
                return SG_RETRY_DEAD;
        }
        switch (curl_code) {
        case CURLE_OPERATION_TIMEDOUT:
                snprintf(reason, SG_RETRY_REASON_MAX, "timeout");
                break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                snprintf(reason, SG_RETRY_REASON_MAX, "connect");
                break;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                snprintf(reason, SG_RETRY_REASON_MAX, "connection_lost");
                break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                snprintf(reason, SG_RETRY_REASON_MAX, "tls");
                break;
        default:
                snprintf(reason, SG_RETRY_REASON_MAX, "curl_%d", curl_code);
                break;
        }
        return SG_RETRY_AGAIN;
}

long long sg_retry_backoff_ms(int attempts, long long min_ms, long long max_ms,
                              double r)
{
        long long base = min_ms;
        double d;

        if (r < 0 || r >= 1)
                r = 0.5;
        for (int i = 1; i < attempts && base < max_ms; i++)
                base *= 2;
        if (base > max_ms)
                base = max_ms;
        d = (double)base * (0.8 + 0.4 * r);
        if (d > (double)max_ms)
                d = (double)max_ms;
        return (long long)d;
}

int sg_retry_after_parse(const char *value, long long now_s,
                         long long *delay_ms)
{
        const char *p = value;
        long long s = 0;
        time_t now = (time_t)now_s, t;

        if (!value)
                return -1;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p >= '0' && *p <= '9') {
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (s <= SG_RETRY_AFTER_MAX_MS / 1000)
                                s = s * 10 + (*p - '0');
                }
                while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
                        p++;
                if (*p)
                        return -1;
                *delay_ms = s * 1000 > SG_RETRY_AFTER_MAX_MS
                                ? SG_RETRY_AFTER_MAX_MS
                                : s * 1000;
                return 0;
        }
        /* An HTTP-date must name its day and month: curl_getdate reads
         * the three forms of RFC 9110 (and more, which we accept too). */
        if (!*p || strlen(p) > 64)
                return -1;
        t = curl_getdate(p, &now);
        if (t == (time_t)-1)
                return -1;
        if ((long long)t <= now_s)
                *delay_ms = 0;
        else if (((long long)t - now_s) * 1000 > SG_RETRY_AFTER_MAX_MS)
                *delay_ms = SG_RETRY_AFTER_MAX_MS;
        else
                *delay_ms = ((long long)t - now_s) * 1000;
        return 0;
}

long long sg_retry_delay_ms(long long backoff_ms, long long retry_after_ms)
{
        return retry_after_ms > backoff_ms ? retry_after_ms : backoff_ms;
}

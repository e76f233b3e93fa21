/* libFuzzer target for the v1 event validator and the masking used on
 * rejected payloads: whatever the bytes, no crash, no sanitizer report,
 * and the invariants below hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_event.h"
#include "sg_mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fast path (jsmn) and the jansson path agree on everything. */
static void same_without_fast_path(const uint8_t *data, size_t size,
                                   sg_reason_t r, const char *msg,
                                   const sg_event_t *ev)
{
        sg_event_t slow;
        char smsg[256];
        sg_reason_t sr;
        bool meta_same;

        sg_event_set_fast_path(false);
        sr = sg_event_parse((const char *)data, size, &slow, smsg,
                            sizeof(smsg));
        sg_event_set_fast_path(true);
        meta_same = (ev->metadata == NULL) == (slow.metadata == NULL) &&
                    (!ev->metadata || strcmp(ev->metadata, slow.metadata) == 0);
        if (sr != r || strcmp(smsg, msg) != 0 || !meta_same ||
            memcmp(ev, &slow, offsetof(sg_event_t, metadata)) != 0)
                abort();
        sg_event_fini(&slow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char out[3 * SG_EVENT_MAX_VALUE + 1];
        sg_event_t ev;
        char msg[256];
        sg_reason_t r;
        size_t n;

        r = sg_event_parse((const char *)data, size, &ev, msg, sizeof(msg));
        same_without_fast_path(data, size, r, msg, &ev);
        if (r == SG_REASON_OK) {
                /* A valid event never carries an e-mail into storage. */
                if (ev.metadata &&
                    sg_mask_has_email(ev.metadata, strlen(ev.metadata)))
                        abort();
                if (sg_mask_has_email(ev.device_id, strlen(ev.device_id)) ||
                    sg_mask_has_email(ev.content_id, strlen(ev.content_id)))
                        abort();
                if (size > SG_EVENT_MAX_VALUE)
                        abort();
        } else if (r >= SG_REASON__CNT) {
                abort();
        }
        sg_event_fini(&ev);

        /* The dead-letter payload is valid UTF-8 and e-mail free. */
        n = sg_mask_dlq_payload((const char *)data, size, SG_EVENT_MAX_VALUE,
                                out, sizeof(out));
        if (n >= sizeof(out) || !sg_mask_utf8_valid(out, n) ||
            sg_mask_has_email(out, n) || memchr(out, '\0', n))
                abort();
        return 0;
}

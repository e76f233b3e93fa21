/* The engine's ledger: assignment, a batch's pending offsets and their
 * fence, commit, discard, revocation, two topics, end-of-partition. */
#include <criterion/criterion.h>

#include "ledger.h"

TestSuite(ledger);

Test(ledger, new_entries_are_unassigned_with_nothing_stored)
{
        sg_ledger_t l;
        sg_ledger_part_t *p;

        sg_ledger_init(&l);
        p = sg_ledger_get(&l, "user_events", 3);
        cr_assert_not_null(p);
        cr_expect_str_eq(p->topic, "user_events");
        cr_expect_eq(p->partition, 3);
        cr_expect(!p->assigned);
        cr_expect_eq(p->stored, SG_LEDGER_NONE);
        cr_expect_eq(p->pending, SG_LEDGER_NONE);
        cr_expect_null(sg_ledger_find(&l, "user_events", 99));
        cr_expect_null(sg_ledger_find(&l, "other", 3));
        cr_expect_null(sg_ledger_get(&l, "user_events", -1));
        cr_expect_null(sg_ledger_get(&l, "user_events", 2000000));
        sg_ledger_fini(&l);
}

Test(ledger, messages_of_unassigned_partitions_are_refused)
{
        sg_ledger_t l;

        sg_ledger_init(&l);
        cr_expect(!sg_ledger_add(&l, sg_ledger_get(&l, "t", 0), 5));
        cr_expect(!sg_ledger_add(&l, NULL, 5));
        cr_expect_eq(l.batch_msgs, 0);
        sg_ledger_fini(&l);
}

Test(ledger, a_batch_stores_the_next_offsets_fenced_by_the_stored_ones)
{
        sg_ledger_t l;
        sg_ledger_batch_t b;

        sg_ledger_init(&l);
        sg_ledger_batch_init(&b);
        sg_ledger_assign(sg_ledger_get(&l, "t", 0), 100);
        sg_ledger_assign(sg_ledger_get(&l, "t", 1), SG_LEDGER_NONE);
        sg_ledger_assign(sg_ledger_get(&l, "t", 2), 7);
        cr_assert(sg_ledger_add(&l, sg_ledger_get(&l, "t", 0), 100));
        cr_assert(sg_ledger_add(&l, sg_ledger_get(&l, "t", 0), 101));
        cr_assert(sg_ledger_add(&l, sg_ledger_get(&l, "t", 1), 0));
        cr_expect_eq(l.batch_msgs, 3);
        cr_assert_eq(sg_ledger_pending(&l, &b), 2);
        cr_expect_eq(b.parts[0], 0);
        cr_expect_eq(b.next[0], 102);
        cr_expect_eq(b.expected[0], 100);
        cr_expect_eq(b.parts[1], 1);
        cr_expect_eq(b.next[1], 1);
        cr_expect_eq(b.expected[1], SG_LEDGER_NONE);
        cr_expect_eq(sg_ledger_position(sg_ledger_get(&l, "t", 0)), 102);
        cr_expect_eq(sg_ledger_position(sg_ledger_get(&l, "t", 2)), 7);

        sg_ledger_committed(&l, &b);
        cr_expect_eq(l.batch_msgs, 0);
        cr_expect_eq(sg_ledger_get(&l, "t", 0)->stored, 102);
        cr_expect_eq(sg_ledger_get(&l, "t", 0)->pending, SG_LEDGER_NONE);
        cr_expect_eq(sg_ledger_get(&l, "t", 1)->stored, 1);
        cr_expect_eq(sg_ledger_pending(&l, &b), 0);
        sg_ledger_batch_fini(&b);
        sg_ledger_fini(&l);
}

Test(ledger, a_discarded_batch_leaves_the_stored_offsets)
{
        sg_ledger_t l;
        sg_ledger_batch_t b;

        sg_ledger_init(&l);
        sg_ledger_batch_init(&b);
        sg_ledger_assign(sg_ledger_get(&l, "t", 0), 10);
        cr_assert(sg_ledger_add(&l, sg_ledger_get(&l, "t", 0), 10));
        sg_ledger_discard(&l);
        cr_expect_eq(l.batch_msgs, 0);
        cr_expect_eq(sg_ledger_get(&l, "t", 0)->stored, 10);
        cr_expect_eq(sg_ledger_pending(&l, &b), 0);
        sg_ledger_batch_fini(&b);
        sg_ledger_fini(&l);
}

Test(ledger, revocation_drops_what_was_pending)
{
        sg_ledger_t l;
        sg_ledger_batch_t b;
        sg_ledger_part_t *p;

        sg_ledger_init(&l);
        sg_ledger_batch_init(&b);
        p = sg_ledger_get(&l, "t", 4);
        sg_ledger_assign(p, 0);
        cr_assert(sg_ledger_add(&l, p, 0));
        sg_ledger_revoke(p);
        cr_expect(!p->assigned);
        cr_expect_eq(sg_ledger_pending(&l, &b), 0);
        cr_expect(!sg_ledger_add(&l, p, 1));
        sg_ledger_batch_fini(&b);
        sg_ledger_fini(&l);
}

Test(ledger, two_topics_with_the_same_partition_ids_are_apart)
{
        sg_ledger_t l;
        sg_ledger_batch_t b;

        sg_ledger_init(&l);
        sg_ledger_batch_init(&b);
        sg_ledger_assign(sg_ledger_get(&l, "user_events", 0), 5);
        sg_ledger_assign(sg_ledger_get(&l, "privacy_erasures", 0), 9);
        cr_assert(sg_ledger_add(&l, sg_ledger_get(&l, "privacy_erasures", 0), 9));
        cr_assert_eq(sg_ledger_pending(&l, &b), 1);
        cr_expect_str_eq(b.topics[0], "privacy_erasures");
        cr_expect_eq(b.next[0], 10);
        cr_expect_eq(b.expected[0], 9);
        sg_ledger_committed(&l, &b);
        cr_expect_eq(sg_ledger_get(&l, "user_events", 0)->stored, 5);
        cr_expect_eq(sg_ledger_get(&l, "privacy_erasures", 0)->stored, 10);
        cr_expect_eq(sg_ledger_assigned(&l), 2);
        sg_ledger_batch_fini(&b);
        sg_ledger_fini(&l);
}

Test(ledger, all_eof_needs_every_assigned_partition_at_its_end)
{
        sg_ledger_t l;

        sg_ledger_init(&l);
        cr_expect(!sg_ledger_all_eof(&l), "nothing assigned is not 'at the end'");
        sg_ledger_assign(sg_ledger_get(&l, "t", 0), 0);
        sg_ledger_assign(sg_ledger_get(&l, "t", 1), 0);
        sg_ledger_get(&l, "t", 2); /* met, not assigned: does not count */
        sg_ledger_eof(sg_ledger_get(&l, "t", 0));
        cr_expect(!sg_ledger_all_eof(&l));
        sg_ledger_eof(sg_ledger_get(&l, "t", 1));
        cr_expect(sg_ledger_all_eof(&l));
        cr_assert(sg_ledger_add(&l, sg_ledger_get(&l, "t", 1), 0));
        cr_expect(!sg_ledger_all_eof(&l), "a message clears the end");
        sg_ledger_fini(&l);
}

Test(ledger, iteration_visits_every_entry_once_across_growth)
{
        sg_ledger_t l;
        int n = 0;

        sg_ledger_init(&l);
        sg_ledger_get(&l, "a", 0);
        sg_ledger_get(&l, "a", 40); /* grows the table past 16 and 32 */
        sg_ledger_get(&l, "b", 1);
        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(&l, p));)
                n++;
        cr_expect_eq(n, 64 + 16, "every slot of both topics' tables");
        sg_ledger_fini(&l);
}

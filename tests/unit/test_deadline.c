/* SPDX-License-Identifier: Apache-2.0 */
/* unit_deadline: the intermediary's per-connection read deadlines
 * (roles/intermediary/deadline.c): order of expiry, re-arming, phases and disarming. */
#include <criterion/criterion.h>

#include "../../roles/intermediary/deadline.h"

#define HEAD_MS 3000
#define BODY_MS 5000
#define IDLE_MS 7000

static struct deadlines d;

static void setup(void)
{
	deadlines_init(&d, HEAD_MS, BODY_MS, IDLE_MS);
}

TestSuite(unit_deadline, .init = setup);

Test(unit_deadline, nothing_expires_before_its_time)
{
	struct deadline a = { 0 };
	deadline_arm(&d, &a, DEADLINE_HEAD, 1000);
	cr_assert(deadline_armed(&a));
	cr_assert_null(deadline_pop_expired(&d, 1000 + HEAD_MS - 1));
	cr_assert_eq(deadline_pop_expired(&d, 1000 + HEAD_MS), &a);
	cr_assert_not(deadline_armed(&a));
	cr_assert_null(deadline_pop_expired(&d, UINT64_MAX));
}

Test(unit_deadline, expire_in_arrival_order_one_at_a_time)
{
	struct deadline c[4];
	for (int i = 0; i < 4; i++) {
		c[i] = (struct deadline){ 0 };
		deadline_arm(&d, &c[i], DEADLINE_HEAD, (uint64_t)i * 10);
	}
	/* At 3020 the first three are due, the fourth (3030) is not. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(deadline_pop_expired(&d, 3020), &c[i], "expiry %d out of order", i);
	cr_assert_null(deadline_pop_expired(&d, 3020));
	cr_assert_eq(deadline_pop_expired(&d, 3030), &c[3]);
}

Test(unit_deadline, rearming_moves_to_the_tail_with_a_new_time)
{
	struct deadline a = { 0 }, b = { 0 };
	deadline_arm(&d, &a, DEADLINE_HEAD, 0);
	deadline_arm(&d, &b, DEADLINE_HEAD, 100);
	deadline_arm(&d, &a, DEADLINE_HEAD, 200); /* a completed a request */
	cr_assert_eq(deadline_pop_expired(&d, 100 + HEAD_MS), &b);
	cr_assert_null(deadline_pop_expired(&d, 199 + HEAD_MS));
	cr_assert_eq(deadline_pop_expired(&d, 200 + HEAD_MS), &a);
}

Test(unit_deadline, a_body_gets_the_body_timeout)
{
	struct deadline a = { 0 };
	deadline_arm(&d, &a, DEADLINE_HEAD, 0);
	deadline_arm(&d, &a, DEADLINE_BODY, 500); /* head complete at 500 */
	cr_assert_null(deadline_pop_expired(&d, 500 + BODY_MS - 1));
	cr_assert_eq(deadline_pop_expired(&d, 500 + BODY_MS), &a);
	cr_assert_null(deadline_pop_expired(&d, UINT64_MAX));
}

Test(unit_deadline, both_lists_are_checked)
{
	struct deadline h = { 0 }, b = { 0 };
	deadline_arm(&d, &b, DEADLINE_BODY, 0);
	deadline_arm(&d, &h, DEADLINE_HEAD, 0);
	struct deadline *first = deadline_pop_expired(&d, BODY_MS);
	struct deadline *second = deadline_pop_expired(&d, BODY_MS);
	cr_assert(first && second && first != second);
	cr_assert_null(deadline_pop_expired(&d, BODY_MS));
}

Test(unit_deadline, disarmed_entries_never_expire)
{
	struct deadline a = { 0 }, b = { 0 }, c = { 0 };
	deadline_arm(&d, &a, DEADLINE_HEAD, 0);
	deadline_arm(&d, &b, DEADLINE_HEAD, 0);
	deadline_arm(&d, &c, DEADLINE_HEAD, 0);
	deadline_disarm(&b); /* the connection closed */
	deadline_disarm(&b); /* twice is harmless */
	cr_assert_eq(deadline_pop_expired(&d, HEAD_MS), &a);
	cr_assert_eq(deadline_pop_expired(&d, HEAD_MS), &c);
	cr_assert_null(deadline_pop_expired(&d, UINT64_MAX));
}

Test(unit_deadline, the_next_due_time_is_the_earliest_list_head)
{
	struct deadline h = { 0 }, b = { 0 }, i = { 0 };
	cr_assert_eq(deadline_next_ms(&d), UINT64_MAX, "nothing armed");
	deadline_arm(&d, &i, DEADLINE_IDLE, 0);
	cr_assert_eq(deadline_next_ms(&d), IDLE_MS);
	deadline_arm(&d, &b, DEADLINE_BODY, 100);
	cr_assert_eq(deadline_next_ms(&d), 100 + BODY_MS);
	deadline_arm(&d, &h, DEADLINE_HEAD, 200);
	cr_assert_eq(deadline_next_ms(&d), 200 + HEAD_MS);
	deadline_disarm(&h);
	cr_assert_eq(deadline_next_ms(&d), 100 + BODY_MS);
	/* an idle deadline moved by a read no longer comes first */
	deadline_arm(&d, &i, DEADLINE_IDLE, 100000);
	deadline_disarm(&b);
	cr_assert_eq(deadline_next_ms(&d), 100000 + IDLE_MS);
}

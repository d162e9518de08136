"""The SQL visit schedule (``crf.schedule.sql``) says what the schedule
function (``crf.schedule.visits.visit_schedule``) says, visit by visit, over
the inputs the one reader of them gives (``crf.schedule.inputs``).

The cohort is built around every edge the function has: for each visit, today
one day before its window, on its first and last day, and one day after; the
visit done, recorded as missed, or only drafted; death or withdrawal before,
on and after the window's last day, complete, signed or only drafted (a draft
does not end the schedule); and two sites whose local dates differ at the
moment chosen.
"""

import datetime
import random

import pytest
from django.db import connection

from crf.models import Death, FollowUp, FormStatus, Operative, Withdrawal
from crf.schedule.inputs import schedule_inputs_for
from crf.schedule.sql import COLUMNS, site_days, visit_rows_sql
from crf.schedule.visits import STATES, site_today, visit_definitions
from perform.selectors import participants_for
from tests.crf.bulk import form_kwargs, participants_add

DAY = datetime.timedelta(days=1)
# 03:30 UTC: still the evening before in Toronto, already morning in Hamburg.
NOW = datetime.datetime(2026, 3, 8, 3, 30, tzinfo=datetime.UTC)


def sql_rows(user, *, now=NOW):
    scope = participants_for(user)
    sql, params = visit_rows_sql(scope, site_days(scope, now=now))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


# Variants of a participant's end of follow-up (and 0: no follow-up entered).
(
    NOTHING_ENTERED,
    IN_FOLLOW_UP,
    DIED,
    WITHDREW,
    DIED_AND_WITHDREW,
    DRAFTS_ONLY,
    DIED_AFTER_DRAFT_WITHDRAWAL,
    WITHDREW_AFTER_DRAFT_DEATH,
) = range(8)


def build_cohort(users, sites):
    """Participants at both sites covering the function's edges; returns, per
    study ID, the inputs the forms entered are meant to give (surgery date,
    done, missed, end of follow-up): what ``schedule_inputs_for`` must read."""
    rng = random.Random(20260308)
    actor = users["coordinator"]
    visits = visit_definitions()
    plans = []
    for site in sites:
        today = site_today(site.time_zone, now=NOW)
        # Days since surgery that put "today" on each window edge.
        offsets = sorted(
            {
                day
                for v in visits
                for day in (
                    v.window_start_day - 1,
                    v.window_start_day,
                    v.window_end_day,
                    v.window_end_day + 1,
                )
            }
            | {0, 500}
        )
        for offset in offsets:
            for variant in range(8):
                plans.append((site, today - offset * DAY, variant))
    people = []
    for site in sites:
        count = sum(1 for plan in plans if plan[0] == site)
        people += participants_add(site, count, actor=actor)
    inputs, operatives, follow_ups, deaths, withdrawals = {}, [], [], [], []
    for person, (_site, surgery, variant) in zip(people, plans, strict=True):
        operatives.append(Operative(**form_kwargs(person, actor, surgery_date=surgery)))
        done, missed = {}, {}
        for v in visits:
            roll = rng.random()
            if variant == NOTHING_ENTERED or roll < 0.4:
                continue  # nothing entered
            if roll < 0.65:
                done[v.code] = surgery + v.target_day * DAY
                follow_ups.append(
                    FollowUp(
                        **form_kwargs(
                            person,
                            actor,
                            status=rng.choice([FormStatus.COMPLETE, FormStatus.SIGNED]),
                            visit=v.code,
                            visit_date=done[v.code],
                        )
                    )
                )
            elif roll < 0.8:
                missed[v.code] = "Too unwell"
                follow_ups.append(
                    FollowUp(
                        **form_kwargs(
                            person, actor, visit=v.code, missed_reason="Too unwell"
                        )
                    )
                )
            else:  # a draft does not count
                follow_ups.append(
                    FollowUp(
                        **form_kwargs(
                            person,
                            actor,
                            status=FormStatus.DRAFT,
                            visit=v.code,
                            visit_date=surgery + v.target_day * DAY,
                        )
                    )
                )
        ended = []
        edge = rng.choice(visits).window_end_day + rng.choice([-1, 0, 1])
        later = edge + rng.choice([-30, 0, 30])
        recorded = rng.choice([FormStatus.COMPLETE, FormStatus.SIGNED])
        death = withdrawal = None
        if variant in (DIED, DIED_AND_WITHDREW, DIED_AFTER_DRAFT_WITHDRAWAL):
            death = (recorded, surgery + edge * DAY)
            ended.append(death[1])
        if variant in (WITHDREW, DIED_AND_WITHDREW, WITHDREW_AFTER_DRAFT_DEATH):
            withdrawal = (recorded, surgery + later * DAY)
            ended.append(withdrawal[1])
        # Drafts, dated before anything that does end follow-up: not an end.
        if variant in (DRAFTS_ONLY, WITHDREW_AFTER_DRAFT_DEATH):
            death = (FormStatus.DRAFT, surgery + (edge - 40) * DAY)
        if variant in (DRAFTS_ONLY, DIED_AFTER_DRAFT_WITHDRAWAL):
            withdrawal = (FormStatus.DRAFT, surgery + (edge - 40) * DAY)
        if death:
            status, day = death
            deaths.append(Death(**form_kwargs(person, actor, status, death_date=day)))
        if withdrawal:
            status, day = withdrawal
            withdrawals.append(
                Withdrawal(**form_kwargs(person, actor, status, withdrawal_date=day))
            )
        inputs[person.study_id] = {
            "surgery_date": surgery,
            "done": done,
            "missed": missed,
            "ended_on": min(ended) if ended else None,
        }
    Operative.objects.bulk_create(operatives)
    FollowUp.objects.bulk_create(follow_ups)
    Death.objects.bulk_create(deaths)
    Withdrawal.objects.bulk_create(withdrawals)
    return inputs


@pytest.mark.django_db
def test_sql_schedule_equals_the_schedule_function(users, site_a, site_b):
    planned = build_cohort(users, [site_a, site_b])
    todays = {
        site.code: site_today(site.time_zone, now=NOW) for site in (site_a, site_b)
    }
    assert todays["TOR"] != todays["HAM"]
    # The one reader of the inputs reads what the forms say (drafts of a
    # follow-up, a death or a withdrawal count for nothing) ...
    inputs = {
        i.study_id: i
        for i in schedule_inputs_for(
            participants_for(users["datamanager"]), now=NOW
        ).values()
    }
    assert {
        study_id: {
            "surgery_date": i.surgery_date,
            "done": dict(i.done),
            "missed": dict(i.missed),
            "ended_on": i.ended_on,
        }
        for study_id, i in inputs.items()
    } == planned
    # ... and the SQL schedule says, visit by visit, what the schedule function
    # says over those inputs.
    rows = sql_rows(users["datamanager"])
    by_participant = {}
    for row in rows:
        by_participant.setdefault(row["study_id"], []).append(row)
    assert by_participant.keys() == inputs.keys()
    states_seen = set()
    for study_id, participant in inputs.items():
        assert participant.today == todays[participant.site_code]
        expected = participant.schedule()
        got = sorted(by_participant[study_id], key=lambda r: r["visit_order"])
        assert [
            (
                r["visit_code"],
                r["window_start"],
                r["window_end"],
                r["target_date"],
                r["state"],
                r["done_on"],
                r["missed_reason"],
                r["today"],
            )
            for r in got
        ] == [
            (
                v.code,
                v.window_start,
                v.window_end,
                v.target_date,
                v.state,
                v.done_on,
                v.missed_reason,
                participant.today,
            )
            for v in expected
        ], study_id
        states_seen |= {v.state for v in expected}
    # The cohort reaches every state the function can return.
    assert states_seen == set(STATES)


@pytest.mark.django_db
def test_sql_schedule_keeps_to_the_users_sites_and_to_operated_participants(
    users, site_a, site_b
):
    actor = users["coordinator"]
    operated, not_yet = participants_add(site_a, 2, actor=actor)
    (elsewhere,) = participants_add(site_b, 1, actor=actor)
    today = site_today(site_a.time_zone, now=NOW)
    Operative.objects.bulk_create(
        [
            Operative(**form_kwargs(operated, actor, surgery_date=today - 20 * DAY)),
            Operative(**form_kwargs(not_yet, actor, status=FormStatus.DRAFT)),
            Operative(**form_kwargs(elsewhere, actor, surgery_date=today)),
        ]
    )
    coordinator = {r["study_id"] for r in sql_rows(users["coordinator"])}
    assert coordinator == {operated.study_id}
    everyone = {r["study_id"] for r in sql_rows(users["datamanager"])}
    assert everyone == {operated.study_id, elsewhere.study_id}
    assert sql_rows(users["dsmb"]) == []


@pytest.mark.django_db
def test_sql_schedule_as_of_a_cutoff_equals_the_inputs_as_of(users, site_a, site_b):
    """With ``as_of`` (a report's cut-off) the SQL schedule leaves out the
    forms dated after it, as ``schedule_inputs_for(as_of=...)`` does: a
    surgery, visit, death or withdrawal after the cut-off counts for nothing."""
    build_cohort(users, [site_a, site_b])
    as_of = NOW.date() - 45 * DAY
    scope = participants_for(users["datamanager"])
    inputs = {i.study_id: i for i in schedule_inputs_for(scope, as_of=as_of).values()}
    days = dict.fromkeys(site_days(scope, now=NOW), as_of)
    sql, params = visit_rows_sql(scope, days, as_of=as_of)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    got = {}
    for row in rows:
        got.setdefault(row["study_id"], []).append(row)
    operated = {s for s, i in inputs.items() if i.surgery_date is not None}
    assert got.keys() == operated
    assert len(operated) < len(inputs)  # some surgeries come after the cut-off
    for study_id in operated:
        participant = inputs[study_id]
        visits = sorted(got[study_id], key=lambda r: r["visit_order"])
        assert [
            (r["visit_code"], r["surgery_date"], r["state"], r["done_on"], r["today"])
            for r in visits
        ] == [
            (v.code, participant.surgery_date, v.state, v.done_on, as_of)
            for v in participant.schedule()
        ], study_id

"""A realistic demo trial for ``manage.py seed_demo``: sites, staff, participants,
and an active allocation list with the randomized participants' allocations.

Everything random comes from one ``random.Random(seed)`` and is drawn while
*planning* (no database access), so the same arguments on the same day give
the same trial. The plan is then carried out through the trial services, so the
status history and the audit trail are the ones real use would leave behind:

1. the demo ``statistician`` generates the allocation list (its seed derived
   from the demo seed) and activates it;
2. each site's coordinator screens its patients and records consent decisions;
3. the demo ``randomizer`` randomizes, with ``participant_randomize``, every
   patient planned as randomized or later, in order of consent date;
4. the coordinators enter the case report forms of every randomized participant
   with ``crf.forms.services.form_save`` (baseline, operative, discharge, follow-up
   visits, adverse events, reoperations, deviations; some drafts, some visits
   left overdue), the investigator signs a few, and the data manager raises a
   few queries (``crf.queries.services``), one answered by the site. The end of
   follow-up comes from the forms, as in real use: a complete Death or
   Withdrawal form, or the final visit's follow-up, moves the status
   (``forms.forms_plan``, ``forms._forms_write``).

Some eligible patients are left awaiting consent, and some consented ones
awaiting randomization (``participants._leave_some_waiting``).

One module per part of the trial; callers import from here:

- ``sites``: the site catalogue and the demo staff accounts;
- ``participants``: the participant plan, then screening and consent;
- ``allocation``: the allocation list, randomization, and the allocation
  e-mails kept from being sent;
- ``forms``: the case report forms, planned and entered, from ``clinical``
  (baseline, operative, discharge, follow-up visits), ``events`` (adverse
  events, reoperations, recurrence, deviations, death, withdrawal) and
  ``queries`` (data queries);
- ``seed``: ``demo_seed``, the whole trial in one transaction;
- ``common``: the error and the small helpers the others share.
"""

from demo.allocation import ALLOCATION_LIST_NAME
from demo.clinical import (
    FINAL_VISIT,
    IMPLANTS,
    INTRAOPERATIVE_COMPLICATIONS,
    MISSED_REASONS,
    OTHER_PRIMARIES,
    PRIMARY_CANCERS,
    PlannedCase,
    PlannedForm,
)
from demo.common import DemoSeedError, S
from demo.events import (
    ADVERSE_EVENTS,
    AE_SHARE,
    DEATH_CAUSES,
    DEATH_DETAILS,
    REOPERATIONS,
)
from demo.forms import MAX_SIGNED, SIGNED_SHARE, form_counts, forms_plan
from demo.participants import (
    ASA_4_CONDITIONS,
    CONSENT_FORM_VERSION,
    DECLINE_REASONS,
    DEFAULT_PARTICIPANTS,
    END_REASONS,
    INELIGIBILITY_REASONS,
    MIN_DAYS_RANDOMIZED,
    PENDING_ANSWERS,
    PREVIOUS_OPERATIONS,
    RANDOMIZED_OR_LATER,
    WAITING,
    WAITING_EVERY,
    PlannedParticipant,
    demo_plan,
)
from demo.queries import QUERY_ANSWER, QUERY_TEXTS, PlannedQuery
from demo.seed import DEFAULT_SEED, SeedResult, demo_data_present, demo_seed
from demo.sites import (
    DEFAULT_PASSWORD,
    DEFAULT_SITES,
    SITE_CATALOGUE,
    DemoSite,
    DemoUser,
    demo_users,
    site_targets,
)

__all__ = [
    "ADVERSE_EVENTS",
    "AE_SHARE",
    "ALLOCATION_LIST_NAME",
    "ASA_4_CONDITIONS",
    "CONSENT_FORM_VERSION",
    "DEATH_CAUSES",
    "DEATH_DETAILS",
    "DECLINE_REASONS",
    "DEFAULT_PARTICIPANTS",
    "DEFAULT_PASSWORD",
    "DEFAULT_SEED",
    "DEFAULT_SITES",
    "END_REASONS",
    "FINAL_VISIT",
    "IMPLANTS",
    "INELIGIBILITY_REASONS",
    "INTRAOPERATIVE_COMPLICATIONS",
    "MAX_SIGNED",
    "MIN_DAYS_RANDOMIZED",
    "MISSED_REASONS",
    "OTHER_PRIMARIES",
    "PENDING_ANSWERS",
    "PREVIOUS_OPERATIONS",
    "PRIMARY_CANCERS",
    "QUERY_ANSWER",
    "QUERY_TEXTS",
    "RANDOMIZED_OR_LATER",
    "REOPERATIONS",
    "SIGNED_SHARE",
    "SITE_CATALOGUE",
    "WAITING",
    "WAITING_EVERY",
    "DemoSeedError",
    "DemoSite",
    "DemoUser",
    "PlannedCase",
    "PlannedForm",
    "PlannedParticipant",
    "PlannedQuery",
    "S",
    "SeedResult",
    "demo_data_present",
    "demo_plan",
    "demo_seed",
    "demo_users",
    "form_counts",
    "forms_plan",
    "site_targets",
]

"""The trial's parameters (PROTOCOL §1, §4–6, §10–11), read by the apps through
``django.conf.settings``. Imported at the end of ``config.settings.base``; the
Methods Centre may change these before go-live, each from the environment where
a deployment may need another value."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# Visit reminders (crf.schedule.reminders): each site's coordinators get their daily
# digest at the first sweep after DAILY_HOUR, local time; the Methods Centre
# its weekly digest at the first sweep after WEEKLY_HOUR (UTC) on WEEKLY_DAY
# (0 = Monday). Windows opening within OPENING_DAYS and closing within
# CLOSING_DAYS are listed, and every overdue visit.
REMINDERS = {
    "DAILY_HOUR": env.int("REMINDERS_DAILY_HOUR", default=7),
    "WEEKLY_DAY": env.int("REMINDERS_WEEKLY_DAY", default=0),
    "WEEKLY_HOUR": env.int("REMINDERS_WEEKLY_HOUR", default=7),
    "OPENING_DAYS": 7,
    "CLOSING_DAYS": 3,
}

# -----------------------------------------------------------------------------
# Trial configuration (PROTOCOL §1, §4). Methods Centre may change before go-live.
# -----------------------------------------------------------------------------
TRIAL = {
    "NAME": "PERFORM",
    "REGISTRATION": "NCT06863129",
    "TARGET_ENROLMENT": 334,
    "RECRUITMENT_START": "2025-02-01",
    "MIN_AGE": 18,
    "STUDY_ID_FORMAT": "PRF-{site}-{sequence:04d}",
    # PROTOCOL §6: (code, label, target day, window opens, window closes), in
    # days after the index surgery.
    "VISITS": [
        ["2w", "2 weeks", 14, 10, 21],
        ["6w", "6 weeks", 42, 35, 56],
        ["4m", "4 months", 120, 106, 136],
        ["6m", "6 months", 183, 168, 198],
        ["9m", "9 months", 274, 244, 304],
        ["12m", "12 months", 365, 335, 395],
    ],
    # Forms expected at each follow-up visit.
    "FOLLOW_UP_FORMS": ["follow_up"],
}

# PROTOCOL §5. Defaults offered when a statistician generates an allocation list;
# each list records the values it was made with (and they enter its digest).
RANDOMIZATION = {
    "ARMS": [
        ["IF", "Internal fixation"],
        ["RER", "Resection with endoprosthetic reconstruction"],
    ],
    "RATIO": [1, 1],
    "BLOCK_SIZES": [2, 4, 6],
    # Factors known to randomization.strata; a stratum is one level of each.
    "STRATIFICATION_FACTORS": ["site", "fracture_status"],
    # At least the full target enrolment, so no stratum can run out.
    "SLOTS_PER_STRATUM": 334,
    # PROTOCOL §2: only the Methods Centre randomizer randomizes, unless the
    # Methods Centre lets site staff do it too.
    "SITE_STAFF_MAY_RANDOMIZE": env.bool("SITE_STAFF_MAY_RANDOMIZE", default=False),
    # Strata with this few unused slots left are flagged on the balance page.
    "LOW_SLOTS_WARNING": 20,
    # The randomizer sees the arm of an allocation it made for this long
    # (randomization.selectors._arm_shown_to); site staff always see theirs.
    "RANDOMIZER_SEES_ARM_HOURS": env.int("RANDOMIZER_SEES_ARM_HOURS", default=24),
}

# PROTOCOL §10–11: what the DSMB reports estimate and show. The Methods Centre
# may change these before go-live; each report records the values it used.
OUTCOMES = {
    # Letters standing for the arms in closed reports; the key to them is
    # printed on a page of its own. Change before go-live so that the letters
    # do not follow the arms' alphabetical order.
    "ARM_LETTERS": {"RER": "A", "IF": "B"},
    # Primary endpoint: cumulative incidence of failure at this day.
    "PRIMARY_HORIZON_DAYS": 365,
    # Kaplan-Meier estimates are reported at these days (label, day).
    "SURVIVAL_TIMES": [["6 months", 183], ["12 months", 365], ["24 months", 730]],
    # Days at which the plots' numbers-at-risk tables are given.
    "RISK_TABLE_DAYS": [0, 91, 183, 274, 365, 548, 730],
    # Recruitment target line: from TRIAL RECRUITMENT_START to this date.
    "RECRUITMENT_END": "2029-12-31",
    # The accrual projection extends the mean rate of this many recent months.
    "PROJECTION_MONTHS": 6,
    # PROTOCOL §11 interim monitoring of the primary endpoint (closed report):
    # Lan-DeMets O'Brien-Fleming alpha spending, two-sided ALPHA; information
    # fraction = observed primary events (by the horizon) / PLANNED_EVENTS;
    # the observed Z is the signed square root of Gray's statistic. LOOKS are
    # the planned information fractions (one interim at 50%, then final).
    "MONITORING": {
        "ALPHA": 0.05,
        "PLANNED_EVENTS": 38,
        "LOOKS": [0.5, 1.0],
        # The charter's rules, printed verbatim in the monitoring section.
        "CHARTER": (
            "The DSMB may recommend stopping for benefit or harm only if the "
            "observed Z of Gray's test on the primary endpoint crosses the "
            "Lan-DeMets O'Brien-Fleming boundary at the current information "
            "fraction, and the safety data and secondary outcomes agree. "
            "Crossing the boundary is a guide, not a rule: the DSMB weighs the "
            "totality of the evidence. No stopping for futility is planned."
        ),
    },
}
# Where report files (PDF and JSON) are kept: a private directory, never served
# as static or media files; downloads go through the access-checked view.
REPORTS_ROOT = env.path("REPORTS_ROOT", default=BASE_DIR / "var" / "reports")
# Recovery of report builds whose worker was lost (outcomes.recovery, run every
# minute by beat). A running build records a heartbeat at each stage; silent
# for STALE_SECONDS, it is re-queued (the longest stage of a 20,000-participant
# report takes about 6 s), and marked failed at the MAX_ATTEMPTS-th lost
# build. A queued report no worker claimed for UNCLAIMED_SECONDS is sent again.
REPORT_RECOVERY = {
    "STALE_SECONDS": env.int("REPORT_STALE_SECONDS", default=120),
    "UNCLAIMED_SECONDS": env.int("REPORT_QUEUED_SECONDS", default=600),
    "MAX_ATTEMPTS": env.int("REPORT_MAX_ATTEMPTS", default=3),
}

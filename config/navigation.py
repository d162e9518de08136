"""The menus of every page, composed here where every app's pages are known
(``infrastructure.navigation`` shows each user the entries their permissions
allow)."""

# An entry is (label, url name, permissions needed — all of them), or a group
# (label, [entries]) shown as one dropdown, so that the menu of the roles with
# the most pages still fits on one line of a laptop screen (issue 15). A group
# of which a user may open one page only is shown as that page's link.
NAVIGATION = [
    ("Dashboard", "dashboards:site", ("crf.view_forms",)),
    ("Record status", "dashboards:record_status", ("crf.view_forms",)),
    ("Participants", "participant_list", "perform.view_participant"),
    (
        "Screening",
        [
            ("Screen a patient", "participant_screen", "perform.screen_participant"),
            ("Screening log", "screening_log", "perform.view_participant"),
            (
                "Screening summary",
                "screening_summary",
                "perform.view_screening_summary",
            ),
        ],
    ),
    (
        "Randomization",
        [
            (
                "Awaiting randomization",
                "crf:awaiting_randomization",
                ("perform.view_participant", "crf.view_forms"),
            ),
            (
                "Randomization log",
                "randomization:log",
                "randomization.view_randomization_log",
            ),
            ("Balance", "randomization:balance", "randomization.view_balance"),
            (
                "Allocation lists",
                "randomization:list_index",
                "randomization.manage_lists",
            ),
        ],
    ),
    ("Queries", "queries:list", "crf.view_forms"),
    (
        "Data quality",
        [
            (
                "Data quality",
                "dashboards:data_quality",
                ("perform.view_all_sites", "crf.view_forms"),
            ),
            ("Lock a visit's forms", "crf:visit_forms_lock", "crf.lock_forms"),
            ("Central monitoring", "monitoring:summary", "outcomes.view_monitoring"),
        ],
    ),
    (
        "Administration",
        [
            ("E-mail log", "email_log", "infrastructure.view_outboundemail"),
            ("Roles", "role_accounts", "perform.view_role_history"),
        ],
    ),
    ("DSMB reports", "outcomes:report_list", "outcomes.view_open_report"),
]
# The account menu (under the user's name): everyone's own settings.
ACCOUNT_MENU = [
    ("Account security", "two_factor:profile"),
    ("E-mail settings", "notification_settings"),
    ("Change password", "password_change"),
]

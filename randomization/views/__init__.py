"""Randomization pages: bind a form, call a service or selector, render.

By domain: ``randomize`` (the randomize flow, the allocation page and its PDF),
``monitoring`` (the Methods Centre's randomization log and stratum balance) and
``lists`` (the statisticians' allocation lists); ``common`` holds what they
share. ``randomization.urls`` maps each page to its module.

Permissions are checked here (403 for a missing role), site scope in the
selectors (404 for a participant at another site). A participant's arm is
read only through ``selectors.allocation_shown_to``; unused slots and block
data only through the statistician's list selectors; within-stratum sequence
numbers, and arms in the log, only where the selectors' rules allow
(``block_data_shown_to``, ``log_arms_shown_to``).
"""

"""The trial core: sites, staff and roles, participants, screening, eligibility
and consent, the site-scoped access door and the audit context.

It builds on ``infrastructure`` only; the apps above (randomization, crf,
outcomes) contribute their parts of a participant's page and API resource
through ``perform.panels``.
"""

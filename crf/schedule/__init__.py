"""The visit schedule (``visits``: windows and states from the protocol), its
SQL twin for lists and dashboards, the reminders and the dashboards."""

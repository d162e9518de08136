"""The visit schedule (``visits``: windows and states from the protocol), the one
reading of its inputs (``inputs``), its SQL twin for lists and dashboards, the
reminders and the dashboards."""

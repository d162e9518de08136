"""Data entry: the form registry, the cross-form rules, scoring, the entry and
sign/lock pages and the forms API."""

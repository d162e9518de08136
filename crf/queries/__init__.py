"""Data queries: raised by the Methods Centre or the automatic checks, answered
by the sites."""

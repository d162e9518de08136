"""Role expectations for the /api/v1/ routes (part of the role × URL matrix)."""

EXPECTED: dict = {}

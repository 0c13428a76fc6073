"""Instructor tooling (placeholder until the a1-instructor branch is merged)."""

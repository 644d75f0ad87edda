"""Versions of a process template: comparing two, and a version as a file (export and import)."""

"""The audit log: who did what in a tenant, append-only."""

"""The tenancy core, database helpers and shared view helpers every domain builds on."""

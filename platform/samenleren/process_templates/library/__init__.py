"""The model library shared by all tenants: sharing a published version, browsing, adopting."""

"""SCIM 2.0 provisioning per tenant at `/scim/v2/<slug>/` (users, groups, managers, deprovisioning).

See `views` (the endpoint and why it wraps `scim2-server`'s handler), `schema` (what we publish),
`storage` (resources <-> rows), `services` (the rules) and `filters` (SCIM filters in SQL).
"""

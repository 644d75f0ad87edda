"""SCIM 2.0 provisioning per tenant at `/scim/v2/<slug>/` (users, groups, managers, deprovisioning).

See `views` (the endpoint and why it wraps `scim2-server`'s handler), `schema` (what we publish),
`storage` (resources <-> rows), `filters` (SCIM filters in SQL) and the rules, one topic each:
`tokens` (bearer tokens), `users` (provisioning and deprovisioning), `groups` and `roles` (the
roles a user's SCIM groups give).
"""

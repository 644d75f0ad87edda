"""Identity: users per tenant, their roles, login through the tenant's OIDC provider."""

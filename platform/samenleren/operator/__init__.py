"""The platform operator console: tenants, their usage, onboarding, suspension, SSO checks."""

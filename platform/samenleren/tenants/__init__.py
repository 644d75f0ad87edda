"""Tenants: onboarding from manifests, suspension, the public landing page, organisation goals."""

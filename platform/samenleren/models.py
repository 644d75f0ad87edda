"""Imports every model so that the metadata (and Alembic) sees all tables."""

from samenleren.catalogue.models import Training
from samenleren.identity.models import (
    Department,
    LoginSession,
    PlatformOperator,
    RoleAssignment,
    User,
)
from samenleren.tenants.models import OrganisationGoal, Tenant

__all__ = [
    "Department",
    "LoginSession",
    "OrganisationGoal",
    "PlatformOperator",
    "RoleAssignment",
    "Tenant",
    "Training",
    "User",
]

"""Imports every model so that the metadata (and Alembic) sees all tables."""

from samenleren.audit.models import AuditEvent
from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    SessionAttendance,
    Training,
    TrainingDepartment,
)
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.identity.models import (
    Department,
    LoginSession,
    PlatformOperator,
    RoleAssignment,
    User,
)
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion
from samenleren.tenants.models import OrganisationGoal, Tenant
from samenleren.trajectories.models import (
    CoachAssignment,
    FieldValue,
    GroupMeeting,
    GroupMeetingAttendance,
    LearningGoal,
    LearningGoalLink,
    StepInstance,
    Trajectory,
)

__all__ = [
    "AuditEvent",
    "CoachAssignment",
    "CoachDay",
    "CoachDayAttendance",
    "CoachProfile",
    "Department",
    "Edition",
    "EditionSession",
    "Enrolment",
    "FieldValue",
    "GroupMeeting",
    "GroupMeetingAttendance",
    "LearningGoal",
    "LearningGoalLink",
    "LoginSession",
    "OrganisationGoal",
    "PlatformOperator",
    "ProcessTemplate",
    "RoleAssignment",
    "SessionAttendance",
    "StepInstance",
    "TemplateVersion",
    "Tenant",
    "Training",
    "TrainingDepartment",
    "Trajectory",
    "User",
]

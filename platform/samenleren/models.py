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
    SignInLink,
    User,
)
from samenleren.operator.models import OperatorLoginSession
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion
from samenleren.scim.models import ScimGroup, ScimGroupMember, ScimToken
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
    "OperatorLoginSession",
    "OrganisationGoal",
    "PlatformOperator",
    "ProcessTemplate",
    "RoleAssignment",
    "ScimGroup",
    "ScimGroupMember",
    "ScimToken",
    "SessionAttendance",
    "SignInLink",
    "StepInstance",
    "TemplateVersion",
    "Tenant",
    "Training",
    "TrainingDepartment",
    "Trajectory",
    "User",
]

"""Imports every model so that the metadata (and Alembic) sees all tables."""

from samenleren.audit.models import AuditEvent, AuditVerification
from samenleren.budget.models import Actual, BudgetYear, CategoryName
from samenleren.calendars.models import CalendarFeed
from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    SessionAttendance,
    Training,
    TrainingDepartment,
)
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.core.tenant import Tenant
from samenleren.exports.models import Export
from samenleren.identity.models import (
    ClientKey,
    Department,
    LoginSession,
    PlatformOperator,
    RoleAssignment,
    SignInLink,
    User,
)
from samenleren.insight.models import Comparison, QuarterlyMail, ReportMailOptOut, SharingSetting
from samenleren.notifications.models import Notification
from samenleren.operator.models import OperatorLoginSession
from samenleren.process_templates.models import LibraryEntry, ProcessTemplate, TemplateVersion
from samenleren.retention.models import Departure, LegalHold, RetentionPeriod
from samenleren.scim.models import ScimGroup, ScimGroupMember, ScimToken
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.models import (
    CoachAssignment,
    ExpectedResult,
    FieldValue,
    GroupMeeting,
    GroupMeetingAttendance,
    LearningGoal,
    LearningGoalLink,
    ResultRating,
    StepInstance,
    Trajectory,
)

__all__ = [
    "Actual",
    "AuditEvent",
    "AuditVerification",
    "BudgetYear",
    "CalendarFeed",
    "CategoryName",
    "ClientKey",
    "CoachAssignment",
    "CoachDay",
    "CoachDayAttendance",
    "CoachProfile",
    "Comparison",
    "Department",
    "Departure",
    "Edition",
    "EditionSession",
    "Enrolment",
    "ExpectedResult",
    "Export",
    "FieldValue",
    "GroupMeeting",
    "GroupMeetingAttendance",
    "LearningGoal",
    "LearningGoalLink",
    "LegalHold",
    "LibraryEntry",
    "LoginSession",
    "Notification",
    "OperatorLoginSession",
    "OrganisationGoal",
    "PlatformOperator",
    "ProcessTemplate",
    "QuarterlyMail",
    "ReportMailOptOut",
    "ResultRating",
    "RetentionPeriod",
    "RoleAssignment",
    "ScimGroup",
    "ScimGroupMember",
    "ScimToken",
    "SessionAttendance",
    "SharingSetting",
    "SignInLink",
    "StepInstance",
    "TemplateVersion",
    "Tenant",
    "Training",
    "TrainingDepartment",
    "Trajectory",
    "User",
]

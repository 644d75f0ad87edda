"""The names of audit events, in one place, each with the label the audit page shows.

An event's `action` is stored as its dotted name (stable: it is in every export and every
filter). Every domain's actions are listed here, with a label, so the page can name and filter
them; an action that is not listed is still recorded and shown by its dotted name (a test
checks that every `record()` call in the package uses a listed action).
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class AuditAction(enum.StrEnum):
    LOGIN_SUCCEEDED = "login.succeeded"
    #: details: `reason` (one of `REFUSAL_REASONS`), and `subject` when the IdP named someone
    #: the tenant does not know.
    LOGIN_REFUSED = "login.refused"
    LOGOUT = "logout"
    #: details: `role` and `source` (`idp`: brought in line at login; `app`: given in the app).
    ROLE_ADDED = "role.added"
    ROLE_REMOVED = "role.removed"
    #: details: `coach` (the new coach's id), `previous_coach` when one was replaced.
    COACH_ASSIGNED = "coach.assigned"
    #: An application answered by the employee's manager, when the edition's template asks for
    #: it (subject: the employee); details: `training` (training and edition by name).
    APPLICATION_MANAGER_APPROVED = "application.manager_approved"
    APPLICATION_MANAGER_DISCUSS = "application.manager_discuss"
    #: The programme admin decided on an application still waiting for the manager (accepted
    #: or declined without the manager's approval); details: `training`, `decision`.
    APPLICATION_DECIDED_WITHOUT_MANAGER = "application.decided_without_manager"
    #: Recorded values of a step seen by someone who is neither its learner nor its coach, or
    #: anything recorded in a confidential step seen by anyone (its learner and coach too);
    #: details: `step` (the step key) and `occurrence` — never the values.
    VALUES_VIEWED = "trajectory.values_viewed"
    #: The audit log itself downloaded; details: the filters used.
    AUDIT_EXPORTED = "audit.exported"
    # Recorded by the SSO settings, external trainers, SCIM and the operator console.
    SSO_CHANGED = "sso.changed"
    SSO_TESTED = "sso.tested"
    #: A new issuer asked for on the SSO settings page; details: `issuer` (the new one),
    #: `current` (the one in force). It applies only once approved.
    SSO_ISSUER_REQUESTED = "sso.issuer_requested"
    #: The pending issuer approved (by the operator or another programme administrator) and in
    #: force; details: `issuer`, `previous`, `relinked` (how many users were moved to it).
    SSO_ISSUER_APPROVED = "sso.issuer_approved"
    #: The pending issuer turned down or withdrawn; details: `issuer`.
    SSO_ISSUER_REJECTED = "sso.issuer_rejected"
    #: A user moved to the tenant's new issuer with an approved change; subject: the user;
    #: details: `issuer`, `previous`.
    USER_RELINKED = "user.relinked"
    #: The operator made a one-time link for the province's IT contact to enter the client
    #: secret; details: `expires_at`.
    SSO_SETUP_LINK_ISSUED = "sso.setup_link_issued"
    #: The operator named the first programme administrators (before their first login);
    #: details: `count` (never the names).
    FIRST_ADMINS_NAMED = "sso.first_admins_named"
    #: The tenant's key pair for `private_key_jwt` made, replaced by a new one (the previous
    #: stays published) or taken out of the JWKS; details: `kid`, and `previous` at a rotation.
    SSO_KEY_CREATED = "sso.key_created"
    SSO_KEY_ROTATED = "sso.key_rotated"
    SSO_KEY_RETIRED = "sso.key_retired"
    #: A programme administrator unbound a user from their Entra ID directory and object id, so
    #: that the next login binds the identity anew; subject: the user.
    USER_IDENTITY_RELINKED = "user.identity_relinked"
    TRAINER_INVITED = "trainer.invited"
    TRAINER_LINK_SENT = "trainer.link_sent"
    TRAINER_ACCESS_WITHDRAWN = "trainer.access_withdrawn"
    TRAINER_ACCESS_RESTORED = "trainer.access_restored"
    SCIM_USER_CREATED = "scim.user_created"
    SCIM_USER_UPDATED = "scim.user_updated"
    SCIM_USER_DEACTIVATED = "scim.user_deactivated"
    SCIM_GROUP_CHANGED = "scim.group_changed"
    SCIM_TOKEN_CREATED = "scim.token_created"  # noqa: S105 (an action name)
    SCIM_TOKEN_REVOKED = "scim.token_revoked"  # noqa: S105 (an action name)
    TENANT_ONBOARDED = "tenant.onboarded"
    TENANT_SUSPENDED = "tenant.suspended"
    TENANT_RESUMED = "tenant.resumed"
    # The model library and terminology; details: `entry` (the library entry's id).
    LIBRARY_PUBLISHED = "library.published"
    LIBRARY_WITHDRAWN = "library.withdrawn"
    #: details: `entry`, `template` (the new template's id).
    LIBRARY_ADOPTED = "library.adopted"
    #: details: `changed` (the fields whose word changed, e.g. "nl-coach-one").
    TERMINOLOGY_CHANGED = "terminology.changed"
    #: details: `status` and `assessed_on` of the new statement.
    ACCESSIBILITY_STATEMENT_CHANGED = "accessibility_statement.changed"
    PRIVACY_STATEMENT_CHANGED = "privacy_statement.changed"
    #: A programme data export asked for / downloaded; details: `format`, `datasets`.
    EXPORT_REQUESTED = "export.requested"
    EXPORT_DOWNLOADED = "export.downloaded"
    # The process-template editor; details: `template` (key), `number` (version).
    TEMPLATE_DRAFT_STARTED = "template.draft_started"
    TEMPLATE_PUBLISHED = "template.published"
    TEMPLATE_DRAFT_DISCARDED = "template.draft_discarded"
    TEMPLATE_MADE_DEFAULT = "template.made_default"
    # Template files and moving trajectories; details: `template`, `number` (version), for a
    # move also `from_number` and the trajectory as subject.
    TEMPLATE_IMPORTED = "template.imported"
    TRAJECTORY_MOVED = "trajectory.moved_to_version"
    # Personal calendar feeds; subject: the user whose feed it is.
    CALENDAR_FEED_CREATED = "calendar_feed.created"
    CALENDAR_FEED_REVOKED = "calendar_feed.revoked"
    # The budget ledger; amounts in euro cents. details: `before` and `after` (the changed
    # values, None for a row that did not exist or no longer does); subject: the actual.
    EDITION_COSTS_CHANGED = "edition.costs_changed"
    BUDGET_SET = "budget.set"
    BUDGET_ACTUAL_ADDED = "budget.actual_added"
    BUDGET_ACTUAL_CHANGED = "budget.actual_changed"
    BUDGET_ACTUAL_DELETED = "budget.actual_deleted"
    #: details: `filename`, `rows`, `total` (cents); each imported actual is recorded as added.
    BUDGET_IMPORTED = "budget.imported"
    BUDGET_CATEGORIES_RENAMED = "budget.categories_renamed"
    #: A retention period changed on the settings page; details: `kind`, `previous`, `months`
    #: (or `days` for exports).
    RETENTION_CHANGED = "retention.changed"
    #: A legal hold placed or lifted; subject: the person or trajectory; details: `reason`.
    LEGAL_HOLD_PLACED = "legal_hold.placed"
    LEGAL_HOLD_LIFTED = "legal_hold.lifted"
    #: The nightly retention run of a tenant; details: what it removed, as counts only.
    RETENTION_APPLIED = "retention.applied"
    #: An employee who left anonymised after the retention period; subject: the user.
    USER_ANONYMISED = "user.anonymised"
    #: The oldest events removed after their retention; details: `through_sequence` and
    #: `through_hash` (the last removed event), the verified anchor the chain starts from now.
    AUDIT_PRUNED = "audit.pruned"
    #: The processing register (art. 30 AVG) downloaded; details: `format`.
    REGISTER_EXPORTED = "register.exported"
    # The employee's rights (privacy); subject: the person (a user), or their trajectory.
    #: details: `package` (the export's id), `audience` (`self` or `programme_admin`), and the
    #: administrator's `reason`.
    PERSONAL_DATA_REQUESTED = "personal_data.requested"
    #: details: `package`, `audience`.
    PERSONAL_DATA_DOWNLOADED = "personal_data.downloaded"
    #: details: `fields` (the names of the corrected fields, never their values), `reason`.
    PROFILE_RECTIFIED = "profile.rectified"
    #: details: `reason`.
    TRAJECTORY_RESTRICTED = "trajectory.restricted"
    TRAJECTORY_RESTRICTION_LIFTED = "trajectory.restriction_lifted"
    # Programme insight: the admin's choices and the platform's comparison job.
    #: subject: the tenant.
    INSIGHT_SHARING_ON = "insight.sharing_on"
    INSIGHT_SHARING_OFF = "insight.sharing_off"
    #: The comparison between organisations written for this tenant; details: `year`, `tenants`
    #: (how many shared: a count, never which).
    INSIGHT_COMPARISON_COMPUTED = "insight.comparison_computed"
    #: subject: the programme admin who changed their own choice.
    INSIGHT_QUARTERLY_MAIL_ON = "insight.quarterly_mail_on"
    INSIGHT_QUARTERLY_MAIL_OFF = "insight.quarterly_mail_off"


ACTION_LABELS = {
    AuditAction.LOGIN_SUCCEEDED: _l("Logged in"),
    AuditAction.LOGIN_REFUSED: _l("Login refused"),
    AuditAction.LOGOUT: _l("Logged out"),
    AuditAction.ROLE_ADDED: _l("Role given"),
    AuditAction.ROLE_REMOVED: _l("Role taken away"),
    AuditAction.COACH_ASSIGNED: _l("Learning coach assigned"),
    AuditAction.APPLICATION_MANAGER_APPROVED: _l("Application approved by the manager"),
    AuditAction.APPLICATION_MANAGER_DISCUSS: _l("Manager asked to discuss an application"),
    AuditAction.APPLICATION_DECIDED_WITHOUT_MANAGER: _l(
        "Application decided without the manager's approval"
    ),
    AuditAction.VALUES_VIEWED: _l("Recorded answers viewed"),
    AuditAction.AUDIT_EXPORTED: _l("Audit log downloaded"),
    AuditAction.SSO_CHANGED: _l("Login settings (SSO) changed"),
    AuditAction.SSO_TESTED: _l("Login settings (SSO) tested"),
    AuditAction.SSO_ISSUER_REQUESTED: _l("New identity provider requested"),
    AuditAction.SSO_ISSUER_APPROVED: _l("New identity provider approved"),
    AuditAction.SSO_ISSUER_REJECTED: _l("New identity provider turned down"),
    AuditAction.USER_RELINKED: _l("Account linked to the new identity provider"),
    AuditAction.SSO_SETUP_LINK_ISSUED: _l("Set-up link for the client secret made"),
    AuditAction.FIRST_ADMINS_NAMED: _l("First programme administrators named"),
    AuditAction.SSO_KEY_CREATED: _l("Key pair for the identity provider made"),
    AuditAction.SSO_KEY_ROTATED: _l("Key pair for the identity provider replaced"),
    AuditAction.SSO_KEY_RETIRED: _l("Previous key pair for the identity provider retired"),
    AuditAction.USER_IDENTITY_RELINKED: _l("Account to be linked anew at the next login"),
    AuditAction.TRAINER_INVITED: _l("External trainer invited"),
    AuditAction.TRAINER_LINK_SENT: _l("Sign-in link sent"),
    AuditAction.TRAINER_ACCESS_WITHDRAWN: _l("External trainer's access withdrawn"),
    AuditAction.TRAINER_ACCESS_RESTORED: _l("External trainer's access restored"),
    AuditAction.SCIM_USER_CREATED: _l("Employee provisioned (SCIM)"),
    AuditAction.SCIM_USER_UPDATED: _l("Employee updated (SCIM)"),
    AuditAction.SCIM_USER_DEACTIVATED: _l("Employee deprovisioned (SCIM)"),
    AuditAction.SCIM_GROUP_CHANGED: _l("Group changed (SCIM)"),
    AuditAction.SCIM_TOKEN_CREATED: _l("SCIM token created"),
    AuditAction.SCIM_TOKEN_REVOKED: _l("SCIM token revoked"),
    AuditAction.TENANT_ONBOARDED: _l("Organisation onboarded by the platform operator"),
    AuditAction.TENANT_SUSPENDED: _l("Organisation suspended by the platform operator"),
    AuditAction.TENANT_RESUMED: _l("Organisation resumed by the platform operator"),
    AuditAction.LIBRARY_PUBLISHED: _l("Process model shared in the library"),
    AuditAction.LIBRARY_WITHDRAWN: _l("Process model withdrawn from the library"),
    AuditAction.LIBRARY_ADOPTED: _l("Process model adopted from the library"),
    AuditAction.TERMINOLOGY_CHANGED: _l("Terminology changed"),
    AuditAction.ACCESSIBILITY_STATEMENT_CHANGED: _l("Accessibility statement changed"),
    AuditAction.PRIVACY_STATEMENT_CHANGED: _l("Privacy statement changed"),
    AuditAction.EXPORT_REQUESTED: _l("Programme data export requested"),
    AuditAction.EXPORT_DOWNLOADED: _l("Programme data export downloaded"),
    AuditAction.TEMPLATE_DRAFT_STARTED: _l("Process template draft started"),
    AuditAction.TEMPLATE_PUBLISHED: _l("Process template version published"),
    AuditAction.TEMPLATE_DRAFT_DISCARDED: _l("Process template draft discarded"),
    AuditAction.TEMPLATE_MADE_DEFAULT: _l("Process template made the default"),
    AuditAction.TEMPLATE_IMPORTED: _l("Process template imported from a file"),
    AuditAction.TRAJECTORY_MOVED: _l("Trajectory moved to a newer template version"),
    AuditAction.CALENDAR_FEED_CREATED: _l("Personal calendar link created"),
    AuditAction.CALENDAR_FEED_REVOKED: _l("Personal calendar link revoked"),
    AuditAction.EDITION_COSTS_CHANGED: _l("Costs of an edition changed"),
    AuditAction.BUDGET_SET: _l("Budget of a year set"),
    AuditAction.BUDGET_ACTUAL_ADDED: _l("Expense added to the budget"),
    AuditAction.BUDGET_ACTUAL_CHANGED: _l("Expense in the budget changed"),
    AuditAction.BUDGET_ACTUAL_DELETED: _l("Expense removed from the budget"),
    AuditAction.BUDGET_IMPORTED: _l("Expenses imported into the budget"),
    AuditAction.BUDGET_CATEGORIES_RENAMED: _l("Budget categories renamed"),
    AuditAction.RETENTION_CHANGED: _l("Retention period changed"),
    AuditAction.LEGAL_HOLD_PLACED: _l("Legal hold placed"),
    AuditAction.LEGAL_HOLD_LIFTED: _l("Legal hold lifted"),
    AuditAction.RETENTION_APPLIED: _l("Retention periods applied"),
    AuditAction.USER_ANONYMISED: _l("Employee who left anonymised"),
    AuditAction.AUDIT_PRUNED: _l("Audit events past their retention removed"),
    AuditAction.REGISTER_EXPORTED: _l("Processing register downloaded"),
    AuditAction.PERSONAL_DATA_REQUESTED: _l("Personal data package requested"),
    AuditAction.PERSONAL_DATA_DOWNLOADED: _l("Personal data package downloaded"),
    AuditAction.PROFILE_RECTIFIED: _l("Profile corrected"),
    AuditAction.TRAJECTORY_RESTRICTED: _l("Trajectory restricted from further processing"),
    AuditAction.TRAJECTORY_RESTRICTION_LIFTED: _l("Restriction of a trajectory lifted"),
    AuditAction.INSIGHT_SHARING_ON: _l("Sharing of aggregated figures switched on"),
    AuditAction.INSIGHT_SHARING_OFF: _l("Sharing of aggregated figures switched off"),
    AuditAction.INSIGHT_COMPARISON_COMPUTED: _l("Comparison with other organisations computed"),
    AuditAction.INSIGHT_QUARTERLY_MAIL_ON: _l("Quarterly report mail switched on"),
    AuditAction.INSIGHT_QUARTERLY_MAIL_OFF: _l("Quarterly report mail switched off"),
}

#: Why a login was refused (`details["reason"]` of `login.refused`).
REFUSAL_REASONS = {
    "idp_error": _l("The identity provider answered with an error"),
    "state": _l("The login state was missing, forged or used before"),
    "wrong_issuer": _l("The ID token comes from another identity provider"),
    "token": _l("The identity provider's answer could not be verified"),
    "no_id_token": _l("The identity provider sent no ID token"),
    "no_subject": _l("The ID token names nobody"),
    "deactivated": _l("The account is deactivated"),
    "reserved_subject": _l("The subject is reserved for external trainers"),
    "other_issuer": _l("The account is linked to another identity provider"),
    "other_identity": _l("The Entra ID directory or object id is not the account's"),
    "sso_unavailable": _l("The identity provider could not be used"),
    "acr": _l("The login's assurance level is below the minimum"),
    "refused": _l("Refused by the login rules"),
    "link_used": _l("The sign-in link was used before"),
    "link_expired": _l("The sign-in link has expired"),
    "link_replaced": _l("A newer sign-in link replaced this one"),
    "link_access_withdrawn": _l("The external trainer's access is withdrawn"),
}

ROLE_LABELS = {
    "learner": _l("Learner"),
    "coach": _l("Learning coach"),
    "manager": _l("Manager"),
    "trainer": _l("Trainer"),
    "programme_admin": _l("Programme administrator"),
}

ROLE_SOURCES = {
    "idp": _l("from the identity provider"),
    "app": _l("given in the application"),
}


def action_label(action: str) -> str:
    """The translated label of an action; an unlisted action shows as its dotted name."""
    try:
        return str(ACTION_LABELS[AuditAction(action)])
    except (ValueError, KeyError):
        return action

"""The SCIM resources we serve, as `scim2-models` models, and what the service announces.

We publish only the attributes we keep (RFC 7643 lets a service provider define its own subset):
an IdP then knows what it can provision, a client that reads back what it wrote gets exactly
that, and nothing else about a person (phone numbers, addresses, ...) is stored. Attributes we
do not know are dropped, not refused (`ScimPolicy.unknown = ignore`): Microsoft Entra ID and
others send their whole default mapping.

User
    `userName` is the `sub` the tenant's IdP puts in the ID token (case-exact, unique), so a
    provisioned user and the same person's login are one `User`. `displayName` is the name the
    application shows; `name` (given and family name), `emails`, `active` and `externalId`.
Enterprise extension
    `employeeNumber`, `department` (a `Department` of the tenant, created by name) and `manager`
    (the `id` of another user: the manager relation of the programme).
Group
    `displayName`, `externalId` and `members` (users only).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from scim2_models import (
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    ExtensibleStringEnum,
    Extension,
    Filter,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models.urn import URN

#: The most resources one page of a search returns (`count` is capped to it).
MAX_RESULTS = 200
DEFAULT_PAGE_SIZE = 100


class Name(ComplexAttribute):
    """The parts of the user's name."""

    family_name: str | None = None
    """The family name of the user."""

    given_name: str | None = None
    """The given name of the user."""


class Email(ComplexAttribute):
    """An e-mail address; the primary one (else the first work address) is the one we mail."""

    class Type(ExtensibleStringEnum):
        work = "work"
        home = "home"
        other = "other"

    #: Kept as sent (no normalisation), so the IdP reads back exactly what it wrote.
    value: str | None = None
    """The e-mail address."""

    type: Type | None = None
    """A label for the address: work, home or other."""

    primary: bool | None = None
    """Whether this is the preferred address."""


class User(Resource[AnyExtension]):
    """An employee of the organisation (with the enterprise extension: `UserResource`)."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true, CaseExact.true] = None
    """The subject (`sub` claim) the organisation's identity provider gives this person at login."""

    name: Name | None = None
    """The components of the user's name."""

    Name: ClassVar[type[ComplexAttribute]] = Name

    display_name: str | None = None
    """The name shown in the application."""

    active: bool | None = None
    """False deprovisions the user: no login, every session ended, data kept for the programme."""

    emails: list[Email] | None = None
    """E-mail addresses of the user."""

    Emails: ClassVar[type[ComplexAttribute]] = Email


class Manager(ComplexAttribute):
    """The user's line manager: another user of the organisation."""

    value: Annotated[str | None, Required.true, CaseExact.true] = None
    """The id of the manager's User resource."""

    ref: Annotated[Reference[User] | None, Required.false] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the manager's User resource."""


class EnterpriseUser(Extension):
    """The employee's place in the organisation."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")

    employee_number: str | None = None
    """The number the organisation's HR system gives the employee."""

    department: str | None = None
    """The name of the employee's department."""

    manager: Manager | None = None
    """The employee's line manager."""

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_as_bare_id(cls, value: Any) -> Any:
        """Microsoft Entra ID sends the manager as a bare id string in its PATCH requests."""
        if isinstance(value, str):
            return {"value": value} if value else None
        return value


class GroupMember(ComplexAttribute):
    """A member of a group: always a user."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The id of the member's User resource."""

    ref: Annotated[Reference[User] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the member's User resource."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """The type of the member: User (groups in groups are not supported)."""


class Group(Resource[Any]):
    """A group of the organisation's identity provider; its name may give roles."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    """The name of the group, as the role mapping of the organisation names it."""

    members: list[GroupMember] | None = None
    """The users in the group."""

    Members: ClassVar[type[ComplexAttribute]] = GroupMember


USER_RESOURCE_TYPE = ResourceType.from_resource(User[EnterpriseUser])
GROUP_RESOURCE_TYPE = ResourceType.from_resource(Group)

BEARER_SCHEME = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="Bearer token",
    description="A token of the organisation, made by its programme administrator "
    "(flask --app samenleren scim token create SLUG, or the SCIM settings page).",
    primary=True,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    pagination=Pagination(
        index=True,
        cursor=False,
        default_pagination_method=Pagination.DefaultPaginationMethod.index,
        default_page_size=DEFAULT_PAGE_SIZE,
        max_page_size=MAX_RESULTS,
    ),
    authentication_schemes=[BEARER_SCHEME],
)

#: Tolerant where real identity providers depart from the RFCs (Microsoft Entra ID above all):
#: unknown attributes are dropped, a `remove` with a value removes that value, and a PATCH
#: path such as `emails[type eq "work"].value` creates the entry it names.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE],
    config=CONFIG,
    policy=POLICY,
)

#: The composed model of the Users endpoint (User with the enterprise extension).
UserResource = User[EnterpriseUser]

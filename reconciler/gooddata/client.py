"""GoodData adapter: reads and writes the declarative access documents through gooddata-sdk.

Reads keep the wire format: every response is taken raw (``_preload_content=False``) and parsed
as JSON, so no field the SDK does not model (``systemAccount``, settings with ``content``...) is
lost on the way to a later PUT. Writes go through the generated ``LayoutApi`` with the body
converted to the generated model in spec naming; the conversion is checked to reproduce the
body exactly, and when the pinned client cannot represent a live value (a setting type newer
than the client, say) the body is sent as it is rather than altered.

Retries are ours, with one policy: the SDK's own urllib3 retry is switched off
(``max_retries=0`` and no status to force a retry on) so the two do not stack.
"""

from __future__ import annotations

import copy
import json
import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import urllib3
from gooddata_api_client.api.user_authorization_api import UserAuthorizationApi
from gooddata_api_client.api.user_management_api import UserManagementApi
from gooddata_api_client.exceptions import ApiException, NotFoundException, OpenApiException
from gooddata_api_client.model.declarative_data_source_permissions import DeclarativeDataSourcePermissions
from gooddata_api_client.model.declarative_organization_permission import DeclarativeOrganizationPermission
from gooddata_api_client.model.declarative_users_user_groups import DeclarativeUsersUserGroups
from gooddata_api_client.model.declarative_workspace_permissions import DeclarativeWorkspacePermissions
from gooddata_api_client.model_utils import validate_and_convert_types
from gooddata_sdk.client import GoodDataApiClient, GoodDataApiClientRetryConfig

from reconciler.environment import Variable, checked_url, required_values
from reconciler.model import (
    AssigneeType,
    Document,
    DocumentKind,
    GoodDataError,
    JsonDict,
    LiveOrganization,
)
from reconciler.transport import RetryPolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROFILE_PATH = "/api/v1/profile"
USERS_AND_GROUPS_PATH = "/api/v1/layout/usersAndUserGroups"
ORGANIZATION_PERMISSIONS_PATH = "/api/v1/layout/organization/permissions"
WORKSPACES_PATH = "/api/v1/entities/workspaces"
WORKSPACE_PAGE_SIZE = 500


def workspace_permissions_path(workspace_id: str) -> str:
    """Path of one workspace's permissions layout."""
    return f"/api/v1/layout/workspaces/{workspace_id}/permissions"


def data_source_permissions_path(data_source_id: str) -> str:
    """Path of one data source's permissions layout."""
    return f"/api/v1/layout/dataSources/{data_source_id}/permissions"


@dataclass(frozen=True)
class GoodDataSettings:
    """The GoodData host and the API token to reach it with.

    ``https_assumed`` is true when ``GOODDATA_HOST`` had no scheme and https was chosen for it, so
    that a TLS failure can say so.
    """

    VARIABLES: ClassVar[tuple[Variable, ...]] = (("GOODDATA_HOST",), ("GOODDATA_TOKEN",))

    host: str
    token: str = field(repr=False)
    https_assumed: bool = False

    def __repr__(self) -> str:
        return f"GoodDataSettings(host={self.host!r}, token='***')"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GoodDataSettings:
        """Read ``GOODDATA_HOST`` and ``GOODDATA_TOKEN``."""
        values = required_values(environ, cls.VARIABLES)
        host, https_assumed = checked_url("GOODDATA_HOST", values["GOODDATA_HOST"], what="a host name")
        return cls(host=host, token=values["GOODDATA_TOKEN"], https_assumed=https_assumed)


_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, ApiException):
        status = error.status or 0
        return status == 429 or status >= 500
    # A TLS failure (wrong scheme, untrusted certificate) fails the same way every time.
    return isinstance(error, _CONNECTION_ERRORS) and _connection_failure(error)[0] != "tls"


def _headers_of(error: BaseException) -> Mapping[str, Any] | None:
    if isinstance(error, ApiException) and error.headers is not None:
        return dict(error.headers.items()) if hasattr(error.headers, "items") else None
    return None


def _connection_failure(error: BaseException) -> tuple[str, str]:
    """What kind of connection failure this is (``refused``, ``timeout``, ``dns``, ``tls``, ``other``)
    and a short description of it.

    The order of the checks matters: urllib3's ``NewConnectionError`` (refused, unknown host)
    subclasses its ``TimeoutError``, so a refused connection would otherwise read "timed out".
    """
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, ApiException) and not error.status:
        # The generated REST client re-raises a bare urllib3 SSLError as a status-0 ApiException.
        reason = str(error.reason or "")
        if reason.startswith("SSLError"):
            return "tls", f"TLS error ({_ssl_reason(reason)})"
        return "other", "the request could not be sent"
    if isinstance(error, urllib3.exceptions.SSLError | ssl.SSLError):
        return "tls", f"TLS error ({_ssl_reason(error)})"
    if isinstance(error, urllib3.exceptions.NameResolutionError):
        return "dns", "host name not found"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        if isinstance(error.__cause__, ConnectionRefusedError) or "refused" in str(error).lower():
            return "refused", "connection refused"
        cause = error.__cause__
        return "other", f"connection failed ({type(cause).__name__ if cause else type(error).__name__})"
    if isinstance(error, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return "timeout", "timed out connecting"
    if isinstance(error, urllib3.exceptions.TimeoutError | TimeoutError):
        return "timeout", "timed out waiting for the reply"
    if isinstance(error, urllib3.exceptions.ProtocolError) and len(error.args) > 1:
        inner = error.args[1]
        if isinstance(inner, BaseException):
            return "other", f"connection failed ({type(inner).__name__})"
    return "other", f"connection failed ({type(error).__name__})"


def _ssl_reason(error: BaseException | str) -> str:
    """The OpenSSL reason of a TLS failure, readable (``wrong version number``)."""
    current: object = error
    while isinstance(current, BaseException):
        reason = getattr(current, "reason", None)
        if isinstance(current, ssl.SSLError) and isinstance(reason, str) and reason:
            return reason.replace("_", " ").lower()
        current = current.args[0] if current.args else None
    text = str(error)
    if "[SSL: " in text:
        return text.split("[SSL: ", 1)[1].split("]", 1)[0].replace("_", " ").lower()
    return "handshake failed"


def _describe(error: BaseException) -> str:
    """Status and GoodData's title/detail, or the kind of connection failure; never a header."""
    if isinstance(error, ApiException):
        if not error.status:
            return _connection_failure(error)[1]
        detail = ""
        body = error.body
        if isinstance(body, bytes | bytearray):
            body = body.decode("utf-8", errors="replace")
        if isinstance(body, str) and body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, Mapping):
                parts = [str(parsed[key]) for key in ("title", "detail") if parsed.get(key)]
                detail = " - ".join(parts)
        if not detail:
            detail = str(error.reason or "")
        return f"{error.status} {detail}".strip()
    return _connection_failure(error)[1]


_STATUS_HINTS = {
    401: "check GOODDATA_TOKEN",
    403: "the token's user needs organization MANAGE",
}


class GoodDataClient:
    """Reads the live access documents of a GoodData organisation and writes them back."""

    def __init__(
        self,
        settings: GoodDataSettings,
        *,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, safe as a default
    ) -> None:
        self._settings = settings
        self._policy = policy
        api_client = GoodDataApiClient(
            settings.host,
            settings.token,
            retry_config=GoodDataApiClientRetryConfig(max_retries=0, status_forcelist=()),
        )
        self._generated = api_client._api_client
        self._layout = api_client.layout_api
        self._entities = api_client.entities_api
        self._authorization = UserAuthorizationApi(self._generated)
        self._user_management = UserManagementApi(self._generated)
        self._lock = threading.Lock()
        self._requests = 0

    def __repr__(self) -> str:
        return f"GoodDataClient({self._settings!r})"

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests

    @property
    def host(self) -> str:
        """The GoodData host this client talks to."""
        return self._settings.host

    # ---------------------------------------------------------------------------------------
    # Transport
    # ---------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, send: Callable[[], T]) -> T:
        """Send one request with the retry policy; a final failure becomes ``GoodDataError``.

        A 404 reply is re-raised as is (``NotFoundException``) for the callers that treat it as
        "absent"; every other failure becomes ``GoodDataError``.
        """

        attempts = 0

        def attempt_once() -> T:
            nonlocal attempts
            attempts += 1
            with self._lock:
                self._requests += 1
            return send()

        try:
            for attempt in self._policy.retrying(_is_retryable, _headers_of, label=f"{method} {path}"):
                with attempt:
                    return attempt_once()
        except NotFoundException:
            raise
        except (OpenApiException, *_CONNECTION_ERRORS) as error:
            message = self._failure_message(method, path, error, attempts)
            raise GoodDataError(message.replace(self._settings.token, "***")) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _failure_message(self, method: str, path: str, error: BaseException, attempts: int) -> str:
        """One line: the request, what happened and what to check.

        A reply from the server names the path only; a failure to reach the server names the whole
        URL, since the host is then the likely culprit.
        """
        status = error.status if isinstance(error, ApiException) else None
        if status:
            message = f"{method} {path} failed: {_describe(error)}"
            hint = _STATUS_HINTS.get(status)
            return f"{message}; {hint}" if hint else message
        kind, what = _connection_failure(error)
        if kind == "timeout" and what.endswith("reply"):
            what = f"{what} ({self._policy.timeout:g} s)"
        if attempts > 1:
            what = f"{what} (after {attempts} attempts)"
        message = f"{method} {self._settings.host}{path} failed: {what}"
        if kind == "tls" and self._settings.https_assumed:
            return (
                f"{message}; GOODDATA_HOST has no scheme, so https was assumed; "
                "write http://... for a plain-HTTP server"
            )
        if kind in ("refused", "dns", "tls") or what.startswith("timed out connecting"):
            return f"{message}; check GOODDATA_HOST"
        return message

    def _get_json(self, path: str, send: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """GET a document raw and parse its JSON, keeping every field in wire format."""
        try:
            return self._get_json_or_404(path, send, *args, **kwargs)
        except NotFoundException as error:
            raise GoodDataError(f"GET {path} failed: {_describe(error)}") from None

    def _get_json_or_404(self, path: str, send: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:

        def fetch() -> bytes:
            response = send(*args, _preload_content=False, _request_timeout=self._policy.timeout, **kwargs)
            data: bytes = response.data
            return data

        raw = self._call("GET", path, fetch)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise GoodDataError(f"GET {path} failed: the reply is not JSON") from None

    def _get_json_or_absent(self, path: str, send: Callable[..., Any], *args: Any) -> Any | None:
        """Like :meth:`_get_json`, but a real 404 reply means the object does not exist."""
        try:
            return self._get_json_or_404(path, send, *args)
        except NotFoundException:
            return None

    # ---------------------------------------------------------------------------------------
    # Reading
    # ---------------------------------------------------------------------------------------

    def profile(self) -> JsonDict:
        """``GET /api/v1/profile``: the token's own user id and the organisation id, raw."""
        body = self._get_json(PROFILE_PATH, self._authorization.get_profile)
        if not isinstance(body, dict) or not body.get("userId") or not body.get("organizationId"):
            raise GoodDataError(f"GET {PROFILE_PATH} failed: the reply has no userId or organizationId")
        return body

    def list_workspaces(self) -> dict[str, str | None]:
        """Every workspace id with its parent id (``None`` for a top-level workspace)."""
        workspaces: dict[str, str | None] = {}
        page = 0
        while True:
            body = self._get_json(
                WORKSPACES_PATH,
                self._entities.get_all_entities_workspaces,
                include=["workspaces"],
                page=page,
                size=WORKSPACE_PAGE_SIZE,
            )
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise GoodDataError(f"GET {WORKSPACES_PATH} failed: the reply has no data list")
            new_ids = 0
            for item in items:
                workspace_id = item.get("id")
                if not isinstance(workspace_id, str):
                    continue
                if workspace_id not in workspaces:
                    new_ids += 1
                parent = ((item.get("relationships") or {}).get("parent") or {}).get("data") or {}
                workspaces[workspace_id] = parent.get("id") if isinstance(parent, dict) else None
            if len(items) < WORKSPACE_PAGE_SIZE:
                break
            if new_ids == 0:
                raise GoodDataError(
                    f"GET {WORKSPACES_PATH} failed: the server repeats a page (paging ignored)"
                )
            page += 1
        return workspaces

    def granted_objects(self, assignee_type: AssigneeType, assignee_id: str) -> tuple[list[str], list[str]]:
        """The workspaces and data sources that grant something to this user or group directly.

        One ``GET /api/v1/actions/userManagement/{users|userGroups}/{id}/permissions``; used for the
        principals a plan removes or strips, so that their grants on objects the file does not list
        are revoked in the open (and backed up) rather than silently.
        """
        if assignee_type == "user":
            path = f"/api/v1/actions/userManagement/users/{assignee_id}/permissions"
            send = self._user_management.list_permissions_for_user
        else:
            path = f"/api/v1/actions/userManagement/userGroups/{assignee_id}/permissions"
            send = self._user_management.list_permissions_for_user_group
        body = self._get_json(path, send, assignee_id)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), list) for k in ("workspaces", "dataSources")
        ):
            raise GoodDataError(f"GET {path} failed: the reply has no workspaces and dataSources lists")
        workspaces = sorted(
            {str(item["id"]) for item in body["workspaces"] if isinstance(item, dict) and "id" in item}
        )
        data_sources = sorted(
            {str(item["id"]) for item in body["dataSources"] if isinstance(item, dict) and "id" in item}
        )
        return workspaces, data_sources

    def read_document(self, kind: DocumentKind, target: str = "") -> Any:
        """One declarative document, raw; ``None`` when its workspace or data source does not exist."""
        if kind == "users_and_groups":
            return self._get_json(USERS_AND_GROUPS_PATH, self._layout.get_users_user_groups_layout)
        if kind == "workspace_permissions":
            return self._get_json_or_absent(
                workspace_permissions_path(target), self._layout.get_workspace_permissions, target
            )
        if kind == "data_source_permissions":
            return self._get_json_or_absent(
                data_source_permissions_path(target), self._layout.get_data_source_permissions, target
            )
        if kind == "organization_permissions":
            return self._get_json(ORGANIZATION_PERMISSIONS_PATH, self._layout.get_organization_permissions)
        raise ValueError(f"unknown document kind {kind!r}")

    def read(
        self,
        *,
        workspace_ids: Iterable[str],
        data_source_ids: Iterable[str],
        organization_permissions: bool,
    ) -> LiveOrganization:
        """Read everything the reconciler compares against, for the named objects."""
        profile = self.profile()
        users_and_groups = self.read_document("users_and_groups")
        if not isinstance(users_and_groups, dict):
            raise GoodDataError(f"GET {USERS_AND_GROUPS_PATH} failed: the reply is not an object")
        users_and_groups.setdefault("users", [])
        users_and_groups.setdefault("userGroups", [])
        workspaces = self.list_workspaces()
        workspace_permissions: dict[str, JsonDict] = {}
        for workspace_id in sorted(set(workspace_ids)):
            if workspace_id not in workspaces:
                continue
            path = workspace_permissions_path(workspace_id)
            body = self._get_json(path, self._layout.get_workspace_permissions, workspace_id)
            if not isinstance(body, dict):
                raise GoodDataError(f"GET {path} failed: the reply is not an object")
            body.setdefault("permissions", [])
            body.setdefault("hierarchyPermissions", [])
            workspace_permissions[workspace_id] = body
        data_source_permissions: dict[str, JsonDict] = {}
        missing: set[str] = set()
        for data_source_id in sorted(set(data_source_ids)):
            body = self.read_document("data_source_permissions", data_source_id)
            if body is None:
                missing.add(data_source_id)
                continue
            if not isinstance(body, dict):
                raise GoodDataError(
                    f"GET {data_source_permissions_path(data_source_id)} failed: the reply is not an object"
                )
            body.setdefault("permissions", [])
            data_source_permissions[data_source_id] = body
        org_permissions: tuple[JsonDict, ...] | None = None
        if organization_permissions:
            body = self.read_document("organization_permissions")
            if not isinstance(body, list):
                raise GoodDataError(f"GET {ORGANIZATION_PERMISSIONS_PATH} failed: the reply is not a list")
            org_permissions = tuple(body)
        return LiveOrganization(
            organization_id=str(profile["organizationId"]),
            token_user_id=str(profile["userId"]),
            users_and_groups=users_and_groups,
            workspaces=workspaces,
            workspace_permissions=workspace_permissions,
            data_source_permissions=data_source_permissions,
            organization_permissions=org_permissions,
            missing_data_sources=frozenset(missing),
        )

    # ---------------------------------------------------------------------------------------
    # Writing
    # ---------------------------------------------------------------------------------------

    def write(self, document: Document) -> None:
        """PUT one declarative document (each one replaces the whole live document)."""
        if document.kind not in _WRITERS:
            raise ValueError(f"unknown document kind {document.kind!r}")
        writer = _WRITERS[document.kind]
        if writer.required_keys:
            # For a workspace: a PUT without hierarchyPermissions would wipe the hierarchy grants.
            _require_keys(document, writer.required_keys)
        elif not isinstance(document.body, list):
            raise GoodDataError(f"{document.label}: the document must be a JSON list")
        path = writer.path(document.target)
        timeout = self._policy.timeout
        model = self._to_model(document, writer.model_types)
        if model is not None:
            send = getattr(self._layout, writer.operation)
            args = (document.target, model) if writer.path_parameter else (model,)
            self._put(path, lambda: send(*args, _request_timeout=timeout))
            return
        # The pinned client cannot carry this body unchanged: send the JSON as it is, through the
        # same generated endpoint definition (path, authentication, serialisation of plain JSON).
        endpoint = getattr(self._layout, f"{writer.operation}_endpoint").settings
        path_params = {writer.path_parameter: document.target} if writer.path_parameter else None
        body = copy.deepcopy(document.body)
        self._put(
            path,
            lambda: self._generated.call_api(
                endpoint["endpoint_path"],
                "PUT",
                path_params=path_params,
                header_params={"Content-Type": "application/json"},
                body=body,
                response_type=None,
                auth_settings=endpoint["auth"],
                _return_http_data_only=True,
                _request_timeout=timeout,
                _check_type=False,
            ),
        )

    def _put(self, path: str, send: Callable[[], Any]) -> None:
        try:
            self._call("PUT", path, send)
        except NotFoundException as error:
            raise GoodDataError(f"PUT {path} failed: {_describe(error)}") from None

    def _to_model(self, document: Document, types: tuple[Any, ...]) -> Any | None:
        """The body as the generated model, or ``None`` when the model cannot carry it unchanged."""
        original = json.dumps(document.body, sort_keys=True)
        try:
            # The conversion rewrites nested containers in place, so it gets its own copy.
            model = validate_and_convert_types(
                copy.deepcopy(document.body),
                types,
                ["body"],
                True,  # spec_property_naming: the keys are wire names (authId, userGroups...)
                # No type check: it is most of the cost on large documents and it alters integers in
                # free-form setting content (7 -> 7.0); the round trip below proves the body unchanged,
                # and the server validates it.
                False,
                configuration=self._generated.configuration,
            )
            round_trip = json.dumps(self._generated.sanitize_for_serialization(model), sort_keys=True)
        except (OpenApiException, TypeError, ValueError, KeyError, AttributeError) as error:
            logger.warning(
                "%s: gooddata-api-client cannot model the document (%s); sending it unchanged",
                document.label,
                type(error).__name__,
            )
            return None
        if round_trip != original:
            logger.warning(
                "%s: gooddata-api-client would alter the document; sending it unchanged", document.label
            )
            return None
        return model


@dataclass(frozen=True)
class _Writer:
    """How one document kind is written: generated operation, path, model and required keys."""

    operation: str
    path_template: str
    model_types: tuple[Any, ...]
    required_keys: tuple[str, ...] = ()
    path_parameter: str | None = None

    def path(self, target: str) -> str:
        return self.path_template.format(target=target)


_WRITERS: dict[str, _Writer] = {
    "users_and_groups": _Writer(
        "put_users_user_groups_layout",
        USERS_AND_GROUPS_PATH,
        (DeclarativeUsersUserGroups,),
        ("users", "userGroups"),
    ),
    "workspace_permissions": _Writer(
        "set_workspace_permissions",
        "/api/v1/layout/workspaces/{target}/permissions",
        (DeclarativeWorkspacePermissions,),
        ("permissions", "hierarchyPermissions"),
        "workspaceId",
    ),
    "data_source_permissions": _Writer(
        "set_data_source_permissions",
        "/api/v1/layout/dataSources/{target}/permissions",
        (DeclarativeDataSourcePermissions,),
        ("permissions",),
        "dataSourceId",
    ),
    "organization_permissions": _Writer(
        "set_organization_permissions",
        ORGANIZATION_PERMISSIONS_PATH,
        ([DeclarativeOrganizationPermission],),
    ),
}


def _require_keys(document: Document, keys: tuple[str, ...]) -> None:
    body = document.body
    if not isinstance(body, Mapping) or any(key not in body for key in keys):
        raise GoodDataError(f"{document.label}: the document must carry {', '.join(keys)}")

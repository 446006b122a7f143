"""Local HTTP servers that emulate the Auth0 Management API and the GoodData API.

``Sandbox.start()`` runs both on 127.0.0.1 with the seeds shipped in the package; ``Sandbox.env()`` gives the
environment variables that point the reconciler at them. Both servers keep state, validate requests, and can
inject latency, rate limits, errors, dropped connections and stalls (``FaultConfig`` / ``Faults``).

A GoodData seed layout (``GoodDataSeed.from_layout`` / ``from_file``, YAML or JSON) has the keys ``users`` and
``userGroups`` (declarative layout format), ``workspaces`` (``[{id, name, parent?}]``), ``dataSources`` (ids),
``workspacePermissions`` (``{workspace: {permissions, hierarchyPermissions}}``), ``dataSourcePermissions``
(``{data source: {permissions}}``), ``organizationPermissions``, ``tokenUserId`` and ``organizationId``.
"""

from reconciler.sandbox.auth0 import Auth0Seed, Auth0Server, Auth0State
from reconciler.sandbox.gooddata import GoodDataSeed, GoodDataServer, GoodDataState, RequestRejected
from reconciler.sandbox.http import Counters, FaultConfig, Faults
from reconciler.sandbox.sandbox import Sandbox

__all__ = [
    "Auth0Seed",
    "Auth0Server",
    "Auth0State",
    "Counters",
    "FaultConfig",
    "Faults",
    "GoodDataSeed",
    "GoodDataServer",
    "GoodDataState",
    "RequestRejected",
    "Sandbox",
]

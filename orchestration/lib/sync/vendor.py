"""What every vendor destination shares: the client it connects with, its check, and what a refused credential means.

Each vendor module describes its vendor once (`Vendor`: its name in messages, its two settings, its host, how the
credential is sent and the scopes it needs) and registers its destination with `Vendor.spec`. The sentences a user
reads about a missing, refused or unusable credential are all built here, so HubSpot and Klaviyo word them alike.
The credential comes from the caller: nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestration.lib.sync.destinations import Destination, DestinationError, DestinationSpec
from orchestration.lib.sync.http import DeliveryError, JsonHttpClient

AUTH_STATUSES = frozenset({401, 403})  # the credential, not the records, is wrong: stop the whole sync
AUTHORIZATION = "Authorization"  # the header that carries the credential, never shown


@dataclass(frozen=True)
class Vendor:
    """One vendor's API as its destinations reach it; the sentences about its credential."""

    title: str  # the vendor's name in messages, e.g. "HubSpot"
    kind: str  # the Dagster kind tag of its assets, e.g. "hubspot"
    credential_setting: str  # the environment variable the caller reads the secret from, e.g. "HUBSPOT_ACCESS_TOKEN"
    base_url_setting: str  # the environment variable for another host (a mock, a proxy), e.g. "HUBSPOT_BASE_URL"
    default_base_url: str
    credential_kind: str  # what the secret is, e.g. "a private app's access token"
    scheme: str  # the Authorization scheme before the secret, e.g. "Bearer"
    scopes: tuple[str, ...]  # every scope the destination needs
    headers: Mapping[str, str] = field(default_factory=dict)  # fixed headers besides Authorization

    def client(self, credential: str | None, base_url: str | None = None, **client_options: Any) -> JsonHttpClient:
        """A client for `base_url` (empty or None: the vendor's host) that sends `credential` as a secret header.

        Raises DestinationError, naming the setting, when the credential is empty.
        """
        secret = (credential or "").strip()
        if not secret:
            raise DestinationError(f"{self.title} needs {self.credential_setting}: set it to {self.credential_kind} "
                                   f"with the {scope_phrase(self.scopes)}.")
        headers = {AUTHORIZATION: f"{self.scheme} {secret}", **self.headers}
        return JsonHttpClient((base_url or "").strip() or self.default_base_url, headers,
                              secret_headers=(AUTHORIZATION,), **client_options)

    def spec(self, destination: Callable[[JsonHttpClient], Destination], *, name: str, asset_name: str, model: str,
             resend_changed: bool, description: str) -> DestinationSpec:
        """The registration of `destination` (built around a client of this vendor's, see `connector`)."""
        return DestinationSpec(name=name, asset_name=asset_name, model=model, kind=self.kind,
                               credential_setting=self.credential_setting, base_url_setting=self.base_url_setting,
                               connect=self.connector(destination), resend_changed=resend_changed,
                               description=description)

    def connector(self, destination: Callable[[JsonHttpClient], Destination]) -> Callable[..., Destination]:
        """`connect(credential, base_url=None, **client_options)`: `destination` around `client(...)` of those."""

        def connect(credential: str, base_url: str | None = None, **client_options: Any) -> Destination:
            return destination(self.client(credential, base_url, **client_options))

        connect.__doc__ = (f"{self.title}'s destination for a credential in {self.credential_setting}, at base_url "
                           "(empty or None: the vendor's host); client_options go to JsonHttpClient.")
        return connect

    def raise_if_auth_error(self, error: DeliveryError, *scopes: str) -> None:
        """Raise DestinationError for a 401 or 403, naming the setting and the `scopes` (default: all) it needs."""
        if error.status in AUTH_STATUSES:
            raise DestinationError(
                f"{self.title} rejected {self.credential_setting} ({error.status}): check that it is "
                f"{self.credential_kind} with the {scope_phrase(scopes or self.scopes)}."
            ) from error

    def check(self, client: JsonHttpClient, what: str, method: str, path: str, *, scopes: Sequence[str] = (),
              **request: Any) -> None:
        """Send one cheap request; raise DestinationError naming the setting to fix when it fails.

        `what` names the check in the message ("companies"), `scopes` what the request needs, and `request` goes
        to `client.request`.
        """
        try:
            client.request(method, path, **request)
        except DeliveryError as error:
            self.raise_if_auth_error(error, *scopes)
            raise DestinationError(f"{self.title}'s {what} check at {client.base_url} failed ({error}); check "
                                   f"{self.base_url_setting}.") from error


def scope_phrase(scopes: Sequence[str]) -> str:
    """`events:read scope`, `a and b scopes`, `a, b and c scopes`."""
    if not scopes:
        return "scopes it needs"
    if len(scopes) == 1:
        return f"{scopes[0]} scope"
    return f"{', '.join(scopes[:-1])} and {scopes[-1]} scopes"

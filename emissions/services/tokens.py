"""API tokens: create (the plaintext is returned once), authenticate by SHA-256, revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from emissions.models import ApiToken, Organization, Project, Site

TOKEN_PREFIX = "gg_"  # noqa: S105 (a marker, not a secret)
# last_used_at is rewritten at most this often, so a busy tracker does not cost a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *,
    organization: Organization,
    project: Project,
    name: str,
    scope: str = ApiToken.Scope.INGEST,
    site: Site | None = None,
    created_by=None,
) -> tuple[ApiToken, str]:
    """A new token and its plaintext (256 random bits); only the digest is stored, so show it once."""
    if project.organization_id != organization.pk or (site is not None and site.organization_id != organization.pk):
        raise ValueError("the project and site must belong to the organization")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=organization,
        project=project,
        site=site,
        name=name[:100],
        scope=scope,
        token_sha256=_digest(plaintext),
        prefix=plaintext[:10],
        created_by=created_by,
    )
    return token, plaintext


def api_token_authenticate(*, plaintext: str, scope: str | None = None) -> ApiToken | None:
    """The live token with this plaintext (and scope, if given), else None; records its last use.

    Lookup is by the SHA-256 digest through a unique index, so comparing is done by the database on a
    fixed-length digest and timing reveals nothing about the token.
    """
    if not plaintext or len(plaintext) > 200:
        return None
    token = (
        ApiToken.objects.filter(token_sha256=_digest(plaintext), revoked_at__isnull=True)
        .select_related("organization", "project", "site")
        .first()
    )
    if token is None or (scope is not None and token.scope != scope):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, organization: Organization, token_id: int) -> ApiToken:
    """Revoke one of the organization's tokens (idempotent)."""
    token = ApiToken.objects.for_org(organization).get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token

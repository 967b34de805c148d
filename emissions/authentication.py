"""DRF authentication by project-scoped API token (kept apart from the views: settings import it early)."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from emissions.services.tokens import api_token_authenticate
from emissions.throttling import invalid_token_register


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` (or ``x-api-token``): a project-scoped API token.

    The request then acts for no user: ``request.auth`` is the ApiToken, and views decide which
    token scopes they accept (``token_scopes_read`` / ``token_scopes_write``).
    """

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        plaintext = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        plaintext = plaintext or request.headers.get("x-api-token", "")
        if not plaintext:
            return None
        # Looked up before any throttle: other clients' invalid tokens never refuse a valid one.
        token = api_token_authenticate(plaintext=plaintext)
        if token is None:
            wait_s = invalid_token_register(request, plaintext=plaintext)
            if wait_s is not None:
                raise exceptions.Throttled(
                    wait=wait_s, detail="too many invalid tokens from this address or with this prefix"
                )
            raise exceptions.AuthenticationFailed("invalid or revoked token")
        return AnonymousUser(), token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI schema (``/api/schema/``)."""

    target_class = "emissions.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project-scoped GreenGuild token (Settings › Tokens, or manage.py create_token).",
        }

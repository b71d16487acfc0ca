"""Who is asking: the JWT claims API Gateway's authorizer verified (or the local gateway did).

The role is the Cognito group: `reviewer` or `viewer` (a member of both reviews). API Gateway HTTP
APIs pass a list claim as one string, "[reviewer viewer]"; a JSON list is read too.
"""

from __future__ import annotations

import json
from typing import Any

from .models import Actor, Role


class Unauthenticated(Exception):
    """No verified token came with the request."""


GROUPS_CLAIM = "cognito:groups"


def groups_of(claims: dict[str, Any]) -> list[str]:
    value = claims.get(GROUPS_CLAIM)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return [g.strip(" \"',") for g in text[1:-1].replace(",", " ").split() if g.strip(" \"',")]
        return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]
    return [g.strip() for g in text.replace(",", " ").split() if g.strip()]


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    """The caller; `Unauthenticated` without a subject, `NotAllowed` outside both groups."""
    from .service import NotAllowed

    sub = claims.get("sub")
    if not sub:
        raise Unauthenticated("a bearer token is required")
    groups = groups_of(claims)
    if Role.REVIEWER.value in groups:
        role = Role.REVIEWER
    elif Role.VIEWER.value in groups:
        role = Role.VIEWER
    else:
        raise NotAllowed("the user is in neither the reviewer nor the viewer group")
    username = claims.get("cognito:username") or claims.get("username") or str(sub)
    return Actor(sub=str(sub), username=str(username), role=role)

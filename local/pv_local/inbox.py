"""The review inbox on the local stack: the review API behind the local HTTP gateway, a token per
development user, and `.artifacts/local/stack.json` for scripts and browsers to find them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pv_local.cli import STACK_FILE
from pv_local.gateway import ROLES
from pv_local.stack import REVIEW_FUNCTION, LocalStack


def serve_inbox(stack: LocalStack) -> dict[str, Any]:
    """Serve the review API and the inbox; their URLs and a bearer token per role."""
    gateway = stack.serve_http(REVIEW_FUNCTION)
    tokens = {role: gateway.tokens.issue(role) for role in ROLES}
    return {
        "review_url": gateway.url,
        # The fragment never reaches a server or a log; the page keeps the token for its tab.
        "inbox_url": f"{gateway.url}#token={tokens['reviewer']}",
        "tokens": tokens,
    }


def write_stack_file(stack: LocalStack, review: dict[str, Any], path: Path = STACK_FILE) -> Path:
    """What a script needs to drive the running local stack: the moto endpoint, the region, every
    template output that names a resource of the local stack (bucket, tables, queues, topics, keys:
    what `aws cloudformation describe-stacks` gives for a deployed one), the template's resources by
    logical id, the parameters it was started with (the E2B sender, the MedDRA prefix), and the
    review API with its tokens (the local stand-in of the ReviewApiUrl output)."""
    payload = {
        "endpoint_url": stack.moto_url,
        "region": stack.region,
        "outputs": stack.outputs(),
        "resources": {rid: r.ref for rid, r in stack.resources.items() if r.emulated},
        "parameters": dict(stack.parameters),
        **review,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)  # bearer tokens
    return path

"""The web inbox: one HTML page (its CSS and JavaScript inline, no build step) served at `/`.

The page signs in with Cognito (InitiateAuth, username and password) when the stack has a user
pool client, or takes a token from its URL fragment (`/#token=...`: the local stack's inbox_url);
then it calls the review API with the token. Its Content-Security-Policy allows only its own
inline script and style (by hash), the API and Cognito.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PAGE = Path(__file__).with_name("inbox.html")


@dataclass(frozen=True)
class InboxPage:
    html: str
    headers: dict[str, str]


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=4)
def inbox_page(*, user_pool_client_id: str, region: str) -> InboxPage:
    """The page, configured for this stack's sign-in."""
    config = {"clientId": user_pool_client_id, "region": region}
    html = PAGE.read_text(encoding="utf-8").replace(
        "/*CONFIG*/{}", json.dumps(config).replace("<", "\\u003c")
    )
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    cognito = f"https://cognito-idp.{region}.amazonaws.com" if user_pool_client_id and region else ""
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_hash(s) for s in scripts),
            "style-src " + " ".join(_hash(s) for s in styles),
            f"connect-src 'self' {cognito}".strip(),
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
    return InboxPage(html=html, headers=headers)

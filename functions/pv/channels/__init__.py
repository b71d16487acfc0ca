"""Channel parsers: S3 objects and queued posts to SourceDocument, or Quarantined with a reason.

`parse_object` loads each channel's parser with the first object of that channel; the social
post parser (`parse_social_message`, `SocialPost`) loads when first asked for (PEP 562), so
importing the package costs a cold container nothing it does not parse.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pv.channels.base import MAX_POSTS_PER_FILE, QUARANTINE_REASONS, ParseError, Reason
from pv.channels.intake import channel_for, parse_object

if TYPE_CHECKING:
    from pv.channels.social import SocialPost, parse_social_message

_SOCIAL = ("SocialPost", "parse_social_message")

__all__ = [
    "MAX_POSTS_PER_FILE",
    "QUARANTINE_REASONS",
    "ParseError",
    "Reason",
    "SocialPost",
    "channel_for",
    "parse_object",
    "parse_social_message",
]


def __getattr__(name: str) -> Any:
    if name in _SOCIAL:
        return getattr(importlib.import_module("pv.channels.social"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Channel parsers: S3 objects and queued posts to SourceDocument, or Quarantined with a reason."""

from pv.channels.base import QUARANTINE_REASONS, ParseError, Reason
from pv.channels.intake import channel_for, parse_object
from pv.channels.social import SocialPost, parse_social_message

__all__ = [
    "QUARANTINE_REASONS",
    "ParseError",
    "Reason",
    "SocialPost",
    "channel_for",
    "parse_object",
    "parse_social_message",
]

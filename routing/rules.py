"""Requirements from what the customer wrote and who they are: keyword and segment rules.

Pure: text and segment in, requirements out. Configured in two settings:

- `SWITCHBOARD_ROUTING_KEYWORDS`, rules separated by `;`, each `words=skill:level`:
  `refund|chargeback=billing:5; password|log in=tech:3`. Words match whole words,
  case-insensitively; `refund*` also matches "refunds" and "refunded". The first rule
  that matches decides the skill and level, in place of the inbox's.
- `SWITCHBOARD_ROUTING_SEGMENTS`, `segment=boost` pairs separated by `,` (`vip=5,gold=2`):
  the priority a customer of that segment gets, on top of the inbox's (0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.requirements import Requirements

__all__ = ["KeywordRule", "RoutingRules", "SegmentRule"]


@dataclass(frozen=True)
class KeywordRule:
    words: tuple[str, ...]
    skill: str
    min_level: int
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, words: tuple[str, ...], skill: str, min_level: int) -> KeywordRule:
        alternatives = "|".join(
            re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words
        )
        pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return cls(words, skill, min_level, pattern)


@dataclass(frozen=True)
class SegmentRule:
    segment: str
    boost: int


@dataclass(frozen=True)
class RoutingRules:
    """Keyword rules (first match wins) and segment priority boosts."""

    keywords: tuple[KeywordRule, ...] = ()
    segments: tuple[SegmentRule, ...] = ()

    @classmethod
    def parse(cls, keywords: str = "", segments: str = "") -> RoutingRules:
        """Rules from the two settings' text; ValueError says what is wrong and where."""
        return cls(
            tuple(_keyword_rule(part) for part in keywords.split(";") if part.strip()),
            tuple(_segment_rule(part) for part in segments.split(",") if part.strip()),
        )

    def requirements(self, text: str, segment: str, inbox: Requirements) -> Requirements:
        skill, level, priority = inbox.skill, inbox.min_level, inbox.priority
        reasons: list[str] = []
        for rule in self.keywords:
            found = rule.pattern.search(text)
            if found is not None:
                skill, level = rule.skill, rule.min_level
                reasons.append(f'"{found.group(0)}": skill {rule.skill} level {rule.min_level}')
                break
        for boost in self.segments:
            if boost.segment == segment:
                priority += boost.boost
                reasons.append(f"segment {segment}: priority +{boost.boost}")
        return Requirements(skill, level, priority, tuple(reasons))


def _keyword_rule(text: str) -> KeywordRule:
    words, equals, target = text.partition("=")
    skill, colon, level = target.strip().partition(":")
    names = tuple(w.strip().lower() for w in words.split("|") if w.strip())
    if not equals or not names or not skill.strip():
        raise ValueError(f"SWITCHBOARD_ROUTING_KEYWORDS: {text.strip()!r} is not words=skill:level")
    if colon and not level.strip().isdigit():
        raise ValueError(f"SWITCHBOARD_ROUTING_KEYWORDS: {text.strip()!r}: level is a number")
    return KeywordRule.of(names, skill.strip()[:64], int(level) if colon else 1)


def _segment_rule(text: str) -> SegmentRule:
    segment, equals, boost = text.partition("=")
    try:
        value = int(boost)
    except ValueError:
        value = None
    if not equals or not segment.strip() or value is None:
        raise ValueError(f"SWITCHBOARD_ROUTING_SEGMENTS: {text.strip()!r} is not segment=boost")
    return SegmentRule(segment.strip(), value)

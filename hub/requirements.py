"""What a new conversation needs from routing, and the seam through which rules decide it.

Intake asks a `RequirementRules` (routing's rules, handed over by `hub.app`) and stores
the answer on the conversation and its queue entry, reasons included, so the routing
explanation can say why a contact needs what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Requirements:
    """A skill (None: any) at a minimum level, a priority, and why."""

    skill: str | None
    min_level: int = 1
    priority: int = 0
    reasons: tuple[str, ...] = ()


class RequirementRules(Protocol):
    def requirements(self, text: str, segment: str, inbox: Requirements) -> Requirements:
        """What a new conversation needs, from its first message's text, the customer's
        segment and what its inbox asks for (`inbox`, priority 0)."""
        ...

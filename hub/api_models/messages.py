"""Messages: a reply an agent (or an integration, for the agent who holds the
conversation) sends to the customer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub.api_models.common import Copies

__all__ = ["ReplyIn", "ReplySent"]


class ReplyIn(BaseModel):
    """The reply; `channel` sends it on another of the customer's channels (a missed
    call answered by SMS) instead of the conversation's own."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=20_000)
    channel: str | None = Field(None, max_length=16)
    # Email only: CC shown in the thread and to every recipient, BCC to agents only.
    cc: Copies = []
    bcc: Copies = []
    # WhatsApp: an approved template (GET /api/whatsapp-templates) instead of text, with
    # its {{n}} variables by number; the only message WhatsApp takes outside its window.
    template_id: int | None = Field(None, ge=1)
    variables: dict[str, str] = Field(default_factory=dict, max_length=20)


class ReplySent(BaseModel):
    message_id: int
    delivery_status: str  # queued | sent | delivered | read | failed

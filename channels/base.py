"""The adapter protocol every channel implements, and the types it speaks."""

from hub.contacts import Attachment, ChannelAdapter, Delivery, InboundContact, OutboundMessage

__all__ = ["Attachment", "ChannelAdapter", "Delivery", "InboundContact", "OutboundMessage"]

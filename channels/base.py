"""The adapter protocol every channel implements, the types it speaks, and the record of
its traits each channel declares."""

from hub.channel_traits import ChannelTraits
from hub.contacts import Attachment, ChannelAdapter, Delivery, InboundContact, OutboundMessage

__all__ = [
    "Attachment",
    "ChannelAdapter",
    "ChannelTraits",
    "Delivery",
    "InboundContact",
    "OutboundMessage",
]

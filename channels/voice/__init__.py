"""The voice channel: `adapter` (Twilio's call webhooks, the menu, hold queue, callbacks and
voicemail), with its helpers `_calls` (each call's record) and `_bridge` (putting an
accepted call through to its agent's softphone or own phone) and `_outbound` (calls agents
place from the console)."""

from channels.voice.adapter import BRIDGE, CALLS, TRAITS, VoiceAdapter, open_calls, setup

__all__ = ["BRIDGE", "CALLS", "TRAITS", "VoiceAdapter", "open_calls", "setup"]

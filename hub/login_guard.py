"""Wrong passwords cost the guesser, not the hub: failed logins are counted per account
and per client address, and past the limit the login answers 429 with Retry-After until
the window ends. A successful login forgets the account's failures."""

from __future__ import annotations

from dataclasses import dataclass

from hub.rate_limits import RateLimits

__all__ = ["LoginGuard"]


@dataclass(frozen=True)
class LoginGuard:
    limits: RateLimits
    per_account: int = 5  # wrong passwords for one username per window (0: no limit)
    per_address: int = 30  # wrong passwords from one client address per window
    window: float = 900.0  # seconds

    async def wait(self, address: str, username: str) -> float:
        """Seconds this address must wait before trying `username` again (0: go on)."""
        for key, limit in self._keys(address, username):
            if limit > 0 and await self.limits.count(key) >= limit:
                # A hit past the limit answers how long the window still runs.
                return max(await self.limits.hit(key, limit, self.window), 1.0)
        return 0.0

    async def failed(self, address: str, username: str) -> None:
        for key, limit in self._keys(address, username):
            await self.limits.hit(key, limit, self.window)

    async def succeeded(self, username: str) -> None:
        await self.limits.clear(self._account(username))

    def _keys(self, address: str, username: str) -> list[tuple[str, int]]:
        return [
            (self._account(username), self.per_account),
            (f"login:address:{address}", self.per_address),
        ]

    @staticmethod
    def _account(username: str) -> str:
        return f"login:account:{username.lower()[:200]}"

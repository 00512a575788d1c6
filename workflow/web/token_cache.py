"""Verified bearer tokens, remembered for a few seconds in this process (issue 18).

Checking a token is a signature check and the user's one-row lookup (its epoch, enabled, role and
scope). An API client sends the same token with every request, so each server process keeps the
answer for at most :data:`TTL_SECONDS`, and never past the token's own expiry. Keys are the SHA-256
of the token (the token itself is not kept). Revocation is bounded:

- in this process at once: logout, a password change or reset, a disable and a scope change call
  :func:`forget_users` after their transaction commits, which empties every cache of the process; a
  lookup that began before that cannot put its (older) answer back (a generation counter);
- in other processes (another server, `zcflow user disable` on the command line) within
  :data:`TTL_SECONDS`, when the entry is looked up again.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from dataclasses import dataclass

from workflow.web.scope import WebUser

TTL_SECONDS = 2.0
MAX_ENTRIES = 10_000

_caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()
_caches_lock = threading.Lock()


@dataclass(frozen=True)
class _Entry:
    user: WebUser
    until: float  # wall-clock seconds (time.time, as the token's expiry is)


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenCache:
    """Token → user for a few seconds; safe to use from the event loop and worker threads."""

    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[bytes, _Entry] = {}
        self._lock = threading.Lock()
        self.generation = 0
        with _caches_lock:
            _caches.add(self)

    def get(self, token: str) -> WebUser | None:
        entry = self._entries.get(_key(token))
        if entry is None:
            return None
        if time.time() >= entry.until:
            with self._lock:
                self._entries.pop(_key(token), None)
            return None
        return entry.user

    def put(self, token: str, user: WebUser, expires_at: float, generation: int) -> None:
        """Remember `user` for `token` (valid until `expires_at`, wall clock), unless the cache was
        emptied since `generation` was read (the lookup may predate a revocation)."""
        until = min(time.time() + self.ttl, expires_at)
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # a flood of distinct tokens: start again rather than grow
            self._entries[_key(token)] = _Entry(user, until)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries = {}


def forget_users() -> None:
    """Empty every token cache of this process (after a change that ends or alters a user's tokens)."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()

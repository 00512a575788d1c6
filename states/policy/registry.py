"""The process's policy registry: the bundled policies plus the versions imported into a database
(CONTRACT §9). `states` never imports storage; storage hands in a `PolicySource`."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Protocol

from states.policy.model import Policy
from states.policy.parsing import load_policies, parse_policy
from states.text import clip


class StoredPolicy(Protocol):
    @property
    def policy_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def checksum(self) -> str: ...


class PolicySource(Protocol):
    """Where imported versions come from (storage gives one over the database; states never imports it)."""

    def stamp(self) -> Hashable:
        """A value that changes whenever a version is added: read on every lookup of a latest version."""

    def texts(self) -> Iterable[StoredPolicy]:
        """Every stored version's text."""


# Parsed once per process: a version's text never changes, so (id, version, checksum) names one policy.
_PARSED: dict[tuple[str, int, str], Policy] = {}


def parse_stored(policy_id: str, version: int, text: str, checksum: str) -> Policy:
    key = (policy_id, version, checksum)
    found = _PARSED.get(key)
    if found is None:
        parsed = parse_policy(text, f"{policy_id} v{version}")
        found = _PARSED[key] = parsed.model_copy(update={"version": version})
    return found


class PolicyRegistry:
    """The bundled policies plus the versions imported into the database (CONTRACT §9).

    A lookup of a given version (what a case runs under) reads the database only when that version
    is not known yet; a lookup of the latest version, or of the list, first compares the source's
    stamp — one small read — so that every process sees another's import at once."""

    def __init__(self, bundled: Mapping[str, Policy]) -> None:
        self.bundled = dict(bundled)
        self.source: PolicySource | None = None
        self._stamp: Hashable = None
        self._stored: dict[str, dict[int, Policy]] = {}

    def use(self, source: PolicySource | None) -> None:
        self.source = source
        self._stamp = None
        self._stored = {}
        self.refresh()

    def refresh(self) -> None:
        if self.source is None:
            return
        stamp = self.source.stamp()
        if stamp == self._stamp:
            return
        stored: dict[str, dict[int, Policy]] = {}
        for row in self.source.texts():
            stored.setdefault(row.policy_id, {})[row.version] = parse_stored(
                row.policy_id, row.version, row.text, row.checksum)
        self._stored, self._stamp = stored, stamp

    def versions(self, policy_id: str) -> dict[int, Policy]:
        found: dict[int, Policy] = {}
        if policy_id in self.bundled:
            found[self.bundled[policy_id].version] = self.bundled[policy_id]
        found.update(self._stored.get(policy_id, {}))
        return dict(sorted(found.items()))

    def known(self) -> dict[str, Policy]:
        """The latest version of every policy: the bundled ones in the contract's order, then the others."""
        self.refresh()
        ids = list(self.bundled) + sorted(set(self._stored) - set(self.bundled))
        return {pid: list(self.versions(pid).values())[-1] for pid in ids}

    def get(self, policy_id: str, version: int | None = None) -> Policy:
        if version is None:
            self.refresh()
        else:
            found = self.versions(policy_id).get(version)
            if found is not None:
                return found
            self.refresh()
        versions = self.versions(policy_id)
        if not versions:
            known = list(self.bundled) + sorted(set(self._stored) - set(self.bundled))
            raise KeyError(f"unknown policy {clip(policy_id)}; known: {', '.join(known)}")
        if version is None:
            return list(versions.values())[-1]
        if version not in versions:
            raise KeyError(f"policy {policy_id!r} has no version {version}; versions: "
                           f"{', '.join(map(str, versions))}")
        return versions[version]


_REGISTRY: PolicyRegistry | None = None


def registry() -> PolicyRegistry:
    """The process's registry: the bundled policies, plus a database's versions once one is bound."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PolicyRegistry(load_policies())
    return _REGISTRY


def policies() -> dict[str, Policy]:
    """Every policy's latest version (bundled, plus imported into the bound database)."""
    return registry().known()


def get_policy(policy_id: str, version: int | None = None) -> Policy:
    """A policy: the given version (what a case runs under), else the latest."""
    return registry().get(policy_id, version)

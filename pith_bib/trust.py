"""The keys pith-bib trusts, and nothing else.

A document carries its own copy of the registry key; that copy proves nothing,
because a forger would ship their own. Only keys pinned here (or added by the
user for one run or in config) can make a signature count.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .errors import TrustError

if TYPE_CHECKING:
    from nacl.signing import VerifyKey

REGISTRY_KEY_ID = "pith-v1-2026-05"
REGISTRY_KEY_HEX = "b2d552b68890857171a78b36a5dccf368a953413288c353f7c9d9d6f94b709b3"
ED25519_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64


def fingerprint_hex(raw_key: bytes) -> str:
    """``public_key_fingerprint`` as documents write it: sha256(raw)[:16] in hex."""
    return hashlib.sha256(raw_key).digest()[:16].hex()


def fingerprint_b32(raw_key: bytes) -> str:
    """The registry's other fingerprint form: base32(sha256(raw))[:26]."""
    return base64.b32encode(hashlib.sha256(raw_key).digest()).decode("ascii")[:26]


@dataclass(frozen=True)
class PinnedKey:
    """One trusted Ed25519 key.

    ``key_id`` is None for keys a user adds by raw bytes alone: such a key is
    recognised by its fingerprint, which is derived from the key and so cannot
    be claimed by a different one.
    """

    raw: bytes
    key_id: str | None = None
    origin: str = "pinned"

    def __post_init__(self) -> None:
        if len(self.raw) != ED25519_KEY_BYTES:
            raise TrustError(
                f"an Ed25519 public key is {ED25519_KEY_BYTES} bytes, got {len(self.raw)}"
            )

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint_hex(self.raw)

    @cached_property
    def fingerprint_b32(self) -> str:
        return fingerprint_b32(self.raw)

    @cached_property
    def _verify_key(self) -> VerifyKey:
        # imported here: a warm run reuses stored verdicts and checks no signature
        from nacl.signing import VerifyKey

        return VerifyKey(self.raw)

    @property
    def label(self) -> str:
        return self.key_id or f"user-key:{self.fingerprint}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != ED25519_SIGNATURE_BYTES:
            return False
        from nacl.exceptions import BadSignatureError

        try:
            self._verify_key.verify(message, signature)
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class TrustRoot:
    """An immutable set of pinned keys; ``with_key`` returns a widened copy."""

    keys: tuple[PinnedKey, ...] = field(default_factory=tuple)

    @classmethod
    def default(cls) -> TrustRoot:
        return _DEFAULT

    def with_key(self, raw_key: bytes, key_id: str | None = None,
                 origin: str = "user") -> TrustRoot:
        """A copy that also trusts ``raw_key``; ``origin`` says who asked (shown to users)."""
        new = PinnedKey(raw=bytes(raw_key), key_id=key_id, origin=origin)
        if any(k.raw == new.raw for k in self.keys):
            return self
        return TrustRoot(keys=(*self.keys, new))

    def with_hex_key(self, hex_key: str, key_id: str | None = None,
                     origin: str = "--trust-key") -> TrustRoot:
        """Add a key written as 64 hex digits (the form ``--trust-key`` takes)."""
        text = hex_key.strip().lower()
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise TrustError(f"--trust-key {hex_key!r}: not hexadecimal") from None
        if len(raw) != ED25519_KEY_BYTES:
            raise TrustError(
                f"--trust-key {hex_key!r}: an Ed25519 public key is 64 hex digits"
            )
        return self.with_key(raw, key_id, origin)

    def find(self, key_id: object, fingerprint: object) -> PinnedKey | None:
        """The pinned key a signer names, or None when the claim matches no pinned key.

        Both the id and the fingerprint must agree with the same pinned key; a
        user key without an id is matched on its fingerprint alone.
        """
        if not isinstance(fingerprint, str):
            return None
        for key in self.keys:
            if key.fingerprint != fingerprint:
                continue
            if key.key_id is None or key.key_id == key_id:
                return key
        return None

    @property
    def extra_keys(self) -> tuple[PinnedKey, ...]:
        """Keys beyond the built-in registry key: every run names them, so trust is visible."""
        return tuple(k for k in self.keys if k.origin != "pinned")

    def pins(self, fingerprint: str) -> bool:
        return fingerprint in self.fingerprints

    @cached_property
    def fingerprints(self) -> frozenset[str]:
        """Every pinned key's fingerprint: asked once per cached verdict of a run."""
        return frozenset(key.fingerprint for key in self.keys)

    def by_key_id(self, key_id: object) -> PinnedKey | None:
        for key in self.keys:
            if key.key_id is not None and key.key_id == key_id:
                return key
        return None


_DEFAULT = TrustRoot(
    keys=(PinnedKey(raw=bytes.fromhex(REGISTRY_KEY_HEX), key_id=REGISTRY_KEY_ID),)
)

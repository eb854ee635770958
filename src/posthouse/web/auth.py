"""Accounts and access: argon2 password hashes, random tokens stored only as hashes, and roles.

Roles rank ``reviewer`` < ``editor`` < ``admin``: reviewers watch and leave notes, editors also change a
note's status, turn notes into cues and make share links, admins manage accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from posthouse.core.errors import UsageError

__all__ = [
    "ROLES",
    "check_role",
    "hash_password",
    "hash_token",
    "new_token",
    "password_needs_rehash",
    "role_at_least",
    "tokens_equal",
    "verify_password",
]

# in rank order: each role may do what the ones before it may; accountants and supervisors also see money
ROLES: Final = ("reviewer", "accountant", "editor", "supervisor", "admin")
MIN_PASSWORD: Final = 8

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a :class:`UsageError`."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", hint=f"choose one of {', '.join(ROLES)}")
    return role


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` ranks at or above ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (PHC string with salt and parameters)."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for a wrong password or a damaged hash)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def new_token(nbytes: int = 32) -> str:
    """A fresh URL-safe random token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest the database stores in place of a session or share token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))

"""Encryption at rest of the child's words and professionals' free text: AES-256-GCM, one random
96-bit nonce per value, so that a copy of the database alone does not reveal what a child said.

Stored form of text: ``v1:<key id>:<URL-safe base64 of nonce + ciphertext>``. Of bytes (recordings):
``v1:<key id>:`` followed by the raw nonce and ciphertext, since base64 would make 2 MB of sound a
third larger. The key id is the first 8 hex characters of SHA-256 of the key: decryption picks its key
by it, and `kidrate rotate-key` sees which values are under an old key. The associated data names the
column ("problem.words"), so a value copied into another column does not decrypt.

Only the column types below, `kidrate rotate-key` (protection/cli.py) and migration 0008 use this; the
rest of the app reads and writes plain strings, dicts and bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, has_app_context
from sqlalchemy import LargeBinary, Text
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_CHARS = 8
_PREFIX_CHARS = len(VERSION) + 1 + KEY_ID_CHARS + 1  # "v1:" + key id + ":"
_KEY_ID = re.compile(r"[0-9a-f]{8}")
EXTENSION = "kidrate.keyring"


class DecryptionError(ValueError):
    """A stored value that does not decrypt. The message names the column and key id, never content."""


class EncryptionNotConfigured(RuntimeError):
    """No data key has been configured in this process (no app has been created)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:KEY_ID_CHARS]


@dataclass(frozen=True)
class Keyring:
    """The key new values are encrypted with, and every key (by id) that may decrypt."""

    current: bytes
    keys: Mapping[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, current: bytes, old: Iterable[bytes] = ()) -> Keyring:
        for key in (current, *old):
            if len(key) != 32:
                raise ValueError("a data key is 32 bytes")
        return cls(current, {key_id(k): k for k in (*old, current)})

    @property
    def current_id(self) -> str:
        return key_id(self.current)


# --- Pure functions: the stored form ----------------------------------------------------------


def _associated_data(column: str) -> bytes:
    return f"{VERSION}:{column}".encode()


def _seal(key: bytes, plaintext: bytes, column: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _associated_data(column))


def _not_encrypted(column: str) -> DecryptionError:
    return DecryptionError(f"{column}: the stored value is not in the encrypted form")


def _open(keys: Mapping[str, bytes], kid: str, sealed: bytes, column: str) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise _not_encrypted(column)
    key = keys.get(kid)
    if key is None:
        raise DecryptionError(f"{column}: the value is under key {kid}, which is not configured "
                              "(KIDRATE_DATA_KEY, KIDRATE_OLD_DATA_KEYS)")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(column))
    except InvalidTag:
        raise DecryptionError(f"{column}: the value under key {kid} does not decrypt: it was altered, "
                              "or belongs to another column") from None


def encrypt_text(key: bytes, text: str, column: str) -> str:
    sealed = base64.urlsafe_b64encode(_seal(key, text.encode(), column)).decode()
    return f"{VERSION}:{key_id(key)}:{sealed}"


def decrypt_text(keys: Mapping[str, bytes], stored: str, column: str) -> str:
    kid = stored_key_id(stored)
    if kid is None:
        raise _not_encrypted(column)
    try:
        sealed = base64.b64decode(stored[_PREFIX_CHARS:], altchars="-_", validate=True)
    except (binascii.Error, ValueError):
        raise _not_encrypted(column) from None
    return _open(keys, kid, sealed, column).decode()


def encrypt_bytes(key: bytes, data: bytes, column: str) -> bytes:
    return f"{VERSION}:{key_id(key)}:".encode() + _seal(key, data, column)


def decrypt_bytes(keys: Mapping[str, bytes], stored: bytes, column: str) -> bytes:
    kid = stored_key_id(stored)
    if kid is None:
        raise _not_encrypted(column)
    return _open(keys, kid, bytes(stored[_PREFIX_CHARS:]), column)


def stored_key_id(stored: str | bytes) -> str | None:
    """The key id of a stored value, or None if it is not in the encrypted form."""
    head = stored[:_PREFIX_CHARS]
    if isinstance(head, bytes | bytearray | memoryview):
        try:
            head = bytes(head).decode("ascii")
        except UnicodeDecodeError:
            return None
    if len(head) != _PREFIX_CHARS or not head.startswith(f"{VERSION}:") or head[-1] != ":":
        return None
    kid = head[len(VERSION) + 1:-1]
    return kid if _KEY_ID.fullmatch(kid) else None


def reencrypt(keyring: Keyring, stored: str | bytes, column: str) -> str | bytes | None:
    """The stored value encrypted anew under the current key, or None if it already is under it."""
    if stored_key_id(stored) == keyring.current_id:
        return None
    if isinstance(stored, str):
        return encrypt_text(keyring.current, decrypt_text(keyring.keys, stored, column), column)
    return encrypt_bytes(keyring.current, decrypt_bytes(keyring.keys, stored, column), column)


# --- The keys of this process -----------------------------------------------------------------

# SQLAlchemy types cannot see the Flask app, so the keys are kept here, for the whole process.
# Decryption may use any key that any app in this process configured: tests build several apps on one
# database, each with its own instance folder and so its own generated key, and a row written under
# one must read under the others. Encryption uses the current app's key, or outside an app context
# (scripts, test factories) that of the app configured last. In production there is one app per process.
_known: dict[str, bytes] = {}
_latest: Keyring | None = None


def configure(keyring: Keyring) -> None:
    global _latest
    _known.update(keyring.keys)
    _latest = keyring


def current_keyring() -> Keyring:
    if has_app_context():
        keyring = current_app.extensions.get(EXTENSION)
        if keyring is not None:
            return keyring
    if _latest is None:
        raise EncryptionNotConfigured("no data key configured: create the app first")
    return _latest


def known_keys() -> Mapping[str, bytes]:
    return _known


# --- Column types -----------------------------------------------------------------------------


class EncryptedType(TypeDecorator):
    """Encrypts on the way in, decrypts on the way out; None stays None (SQL NULL).

    A value encrypts differently each time, so SQL can only ask whether it is NULL: any other
    comparison raises here rather than silently matching nothing. Filter and sort in Python."""

    impl = Text
    cache_ok = True  # each subclass says so again: SQLAlchemy reads it from the class itself

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column  # "table.column": the associated data

    def __repr__(self) -> str:  # as Alembic's autogenerate writes it into a migration
        return f"{type(self).__name__}({self.column!r})"

    class comparator_factory(TypeDecorator.Comparator):
        def operate(self, op, *other, **kwargs):
            if op in (operators.is_, operators.is_not) or (
                    op in (operators.eq, operators.ne) and other == (None,)):
                return super().operate(op, *other, **kwargs)
            raise TypeError(f"{self.expr.type.column} is encrypted: compare, filter and sort it in Python")

        def reverse_operate(self, op, other, **kwargs):
            raise TypeError(f"{self.expr.type.column} is encrypted: compare, filter and sort it in Python")


class EncryptedText(EncryptedType):
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt_text(current_keyring().current, value, self.column)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt_text(_known, value, self.column)


class EncryptedJSON(EncryptedType):
    """JSON inside encrypted text (the handover's snapshot holds the child's words)."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return encrypt_text(current_keyring().current, plain, self.column)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(decrypt_text(_known, value, self.column))


class EncryptedBytes(EncryptedType):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return encrypt_bytes(current_keyring().current, bytes(value), self.column)

    def process_result_value(self, value: bytes | None, dialect: Any) -> bytes | None:
        return None if value is None else decrypt_bytes(_known, value, self.column)

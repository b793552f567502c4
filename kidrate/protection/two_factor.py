"""Staff sign-in rules as pure functions: TOTP codes (RFC 6238), recovery codes and the lockout's
backoff. The views (staff/account.py) keep the state; nothing here touches the database or a request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

import pyotp
import segno

ISSUER = "kidrate"
STEP_SECONDS = 30
# A code from the step before or after the current one still counts: phones' clocks drift.
DRIFT_STEPS = 1

RECOVERY_CODE_COUNT = 10
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_RECOVERY_GROUPS, _RECOVERY_GROUP_LEN = 4, 4  # 16 base32 characters: 80 bits each

LOCK_AFTER = 5  # failed attempts in a row
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)

_TOTP_SHAPE = re.compile(r"[0-9]{6}")  # ASCII only: compare_digest refuses anything else
_RECOVERY_SHAPE = re.compile(f"[{_BASE32}]{{{_RECOVERY_GROUPS * _RECOVERY_GROUP_LEN}}}")


# --- TOTP ----------------------------------------------------------------------------------------


def new_secret() -> str:
    """160 random bits as base32, the length RFC 4226 recommends."""
    return pyotp.random_base32(length=32)


def grouped(text: str, size: int = 4) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(text[i:i + size] for i in range(0, len(text), size))


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """Inline SVG markup without style attributes (the CSP allows no inline style); the title is
    what a screen reader says."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff", title=title,
                                                 svgclass="qr", lineclass=None, omitsize=True)


def clean_code(raw: str | None) -> str:
    """What a person typed, without the spaces and dashes apps and printouts put in codes, and with
    digits from any script (an Arabic keyboard's, say) as 0-9."""
    text = re.sub(r"[\s-]", "", raw or "")
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text).upper()


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_SHAPE.fullmatch(code))


def matching_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step whose code this is, if it is a current one and later than the last step
    accepted: a code that has been used once is refused, as is any older one (no replay)."""
    if not secret or not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- Recovery codes ------------------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Codes to print or save, as ABCD-EFGH-JKLM-NPQR; only their hashes are kept."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_BASE32) for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP_LEN))
        codes.append("-".join(raw[i:i + _RECOVERY_GROUP_LEN] for i in range(0, len(raw), _RECOVERY_GROUP_LEN)))
    return codes


def recovery_hash(code: str) -> str:
    # 80 random bits need no slow hash: SHA-256 of the code without its dashes.
    return hashlib.sha256(clean_code(code).encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return bool(_RECOVERY_SHAPE.fullmatch(clean_code(code)))


def use_recovery_code(hashes: list[str] | None, code: str) -> list[str] | None:
    """The hashes left once this code is used up, or None if it is not one of them."""
    if not hashes or not looks_like_recovery_code(code):
        return None
    wanted = recovery_hash(code)
    found = None
    for stored in hashes:  # compare with every one, so the time taken says nothing about which
        if hmac.compare_digest(stored, wanted):
            found = stored
    if found is None:
        return None
    return [h for h in hashes if h != found]


# --- Lockout -------------------------------------------------------------------------------------


def lock_for(failures: int) -> timedelta | None:
    """How long to lock the account after this many failed attempts in a row: 15 minutes at the
    fifth, doubling at every fifth after it, never more than a day; None between those."""
    if failures < LOCK_AFTER or failures % LOCK_AFTER:
        return None
    doublings = min(failures // LOCK_AFTER - 1, 16)  # 15 min × 2^7 is already past a day
    return min(FIRST_LOCK * 2**doublings, LONGEST_LOCK)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until

"""Recordings read aloud, for languages the child's device has no voice for: which fixed message a
recording belongs to, and whether an upload is audio we accept (pure: no request, no database)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

MAX_BYTES = 2 * 1024 * 1024

# The containers we store and serve, each with how its file begins.
MIMES = ("audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav")

# Other names browsers and operating systems give the same containers when a file is picked.
ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
}


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def as_heard(text: str, examples: Mapping[str, str]) -> str:
    """A catalogue text as a person reading it aloud would say it: each %(name)s filled with an example
    ("%(number)s of %(total)s" → "2 of 4"), a placeholder without one shown as "…", "%%" as "%"."""

    def fill(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        return examples.get(match.group(1), "…")

    return PLACEHOLDER.sub(fill, text)


# The child's templates mark each text that Listen can play with say("…") (kidrate/child/views.py `say`).
SAID = re.compile(r"""\bsay\(\s*"((?:[^"\\]|\\.)*)"\s*\)""")


def said_texts(sources: Iterable[str]) -> list[str]:
    """The texts the child's page can play, in the order they come in the given template sources (the
    page's order), each once."""
    found: list[str] = []
    for source in sources:
        for match in SAID.finditer(source):
            text = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
            if text not in found:
                found.append(text)
    return found


def message_key(msgid: str) -> str:
    """The key of a fixed message of the child's catalogue: the same msgid, the same key."""
    return hashlib.sha256(msgid.encode()).hexdigest()[:16]


def audio_mime(mime: str | None) -> str | None:
    """The container type without codec parameters ("audio/webm;codecs=opus" → "audio/webm"), if we
    accept it; otherwise None."""
    base = (mime or "").split(";", 1)[0].strip().lower()
    base = ALIASES.get(base, base)
    return base if base in MIMES else None


def _looks_like(data: bytes, mime: str) -> bool:
    if mime == "audio/webm":
        return data[:4] == b"\x1a\x45\xdf\xa3"  # EBML (WebM, Matroska)
    if mime == "audio/ogg":
        return data[:4] == b"OggS"
    if mime == "audio/wav":
        return data[:4] == b"RIFF"
    if mime == "audio/mpeg":
        # An ID3 tag, or straight into an MPEG audio frame (11 bits of frame sync: 0xFFE…).
        return data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    if mime == "audio/mp4":
        return data[4:8] == b"ftyp"
    return False


def check_audio(data: bytes, mime: str) -> str | None:
    """An error code for an upload we do not store ("empty", "too_big", "mime", "content"), or None."""
    if not data:
        return "empty"
    if len(data) > MAX_BYTES:
        return "too_big"
    base = audio_mime(mime)
    if base is None:
        return "mime"
    if not _looks_like(data, base):
        return "content"
    return None

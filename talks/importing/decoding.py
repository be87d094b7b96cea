"""From uploaded bytes to text: size limit, binary refusal, encoding detection.

UTF-8 (with or without a BOM) and UTF-16 with a BOM are read as such; anything else that is not
valid UTF-8 is read as Windows-1252/Latin-1 with a warning, because that is what old blog exports
and Windows editors produce.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from .result import ParseWarning

MAX_IMPORT_BYTES = 5 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


class NotesInputError(ValueError):
    """The input cannot be imported at all; the message is meant for the person importing."""


@dataclass
class DecodedText:
    text: str
    encoding: str
    warnings: list[ParseWarning] = field(default_factory=list)


def describe_size(size: int) -> str:
    """A size as people say it: '812 bytes', '4.2 KB', '5.3 MB'."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes.is_integer() else f"{megabytes:.1f} MB"


def check_size(size: int, *, limit: int = MAX_IMPORT_BYTES) -> None:
    if size > limit:
        raise NotesInputError(
            f"The notes are {describe_size(size)} ({size:,} bytes); the limit is "
            f"{describe_size(limit)}. Split the document into days and import them one by one."
        )


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def check_text(text: str) -> None:
    """Refuse text that is empty or is really binary data."""
    if not text.strip():
        raise NotesInputError("The notes are empty: there is nothing to import.")
    if "\x00" in text:
        raise NotesInputError(
            "This looks like a binary file (it contains NUL bytes), not notes in plain text or "
            "Markdown. If it is UTF-16 text, save it with a byte order mark or as UTF-8."
        )
    sample = text[:100_000]
    if len(_CONTROL.findall(sample)) > max(8, len(sample) // 20):
        raise NotesInputError(
            "This looks like a binary file (it is full of control characters), not notes in "
            "plain text or Markdown."
        )


def decode_notes(data: bytes, *, limit: int = MAX_IMPORT_BYTES) -> DecodedText:
    """Decode an uploaded notes file, or raise ``NotesInputError`` with a clear message."""
    check_size(len(data), limit=limit)
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "UTF-8 (with BOM)", data[len(codecs.BOM_UTF8) :]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            text = body.decode("utf-8", errors="replace")
            line = _line_of_offset(body, error.start)
            message = "The file has bytes that are not valid UTF-8; they were replaced by “�”."
            return _checked(DecodedText(text, encoding, [ParseWarning(line, message)]))
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise NotesInputError(
                "The file starts like UTF-16 text but is not valid UTF-16; save it as UTF-8."
            ) from None
        encoding = "UTF-16"
    else:
        if b"\x00" in data:
            check_text("\x00")  # raises the binary-file message
        try:
            return _checked(DecodedText(data.decode("utf-8"), "UTF-8"))
        except UnicodeDecodeError as error:
            line = _line_of_offset(data, error.start)
        try:
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "Latin-1"
        return _checked(
            DecodedText(
                text,
                encoding,
                [
                    ParseWarning(
                        line,
                        f"The file is not valid UTF-8 (first bad byte on this line); it was "
                        f"read as {encoding}. Check accented letters and quotes.",
                    )
                ],
            )
        )
    return _checked(DecodedText(text, encoding))


def _checked(decoded: DecodedText) -> DecodedText:
    check_text(decoded.text)
    return decoded

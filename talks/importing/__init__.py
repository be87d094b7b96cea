"""Importing notes: plain text and Markdown in, ``DayDoc`` out (then ``save_day``).

    decoded = decode_notes(uploaded_bytes)          # encodings, size, binary refusal
    result = parse_notes(decoded.text, options=ImportOptions(conference="DockerCon 2016"))
    outcome = import_notes(text, options=...)       # parse + save, atomically
    # ... which refuses to remove stored talks, notes or snippets unless confirm_removal=True

Parsing never raises on odd input; it reports ``ParseWarning``s with line numbers.
"""

from .checks import OptionsError
from .decoding import MAX_IMPORT_BYTES, DecodedText, NotesInputError, decode_notes
from .parse import FORMATS, ImportOptions, detect_format, parse_notes
from .removals import Removals
from .result import ParseResult, ParseWarning
from .service import (
    DayStats,
    ImportOutcome,
    MissingConference,
    RemovalNotConfirmed,
    check_importable,
    day_stats,
    import_notes,
    planned_overwrites,
    planned_removals,
    read_notes,
    save_days,
)

__all__ = [
    "FORMATS",
    "MAX_IMPORT_BYTES",
    "DayStats",
    "DecodedText",
    "ImportOptions",
    "ImportOutcome",
    "MissingConference",
    "NotesInputError",
    "OptionsError",
    "ParseResult",
    "ParseWarning",
    "RemovalNotConfirmed",
    "Removals",
    "check_importable",
    "day_stats",
    "decode_notes",
    "detect_format",
    "import_notes",
    "parse_notes",
    "planned_overwrites",
    "planned_removals",
    "read_notes",
    "save_days",
]

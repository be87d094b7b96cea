"""Bad input, before parsing: sizes, encodings, binary files, empty files."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talks.importing import MAX_IMPORT_BYTES, NotesInputError, decode_notes, parse_notes

NOTES = "DockerCon 2016 Highlights Day 1\n\nKeynote\n\n• “Seamless” café déjà vu\n"


def test_it_reads_utf8_with_and_without_a_bom():
    assert decode_notes(NOTES.encode()).encoding == "UTF-8"
    decoded = decode_notes(codecs.BOM_UTF8 + NOTES.encode())
    assert (decoded.text, decoded.encoding, decoded.warnings) == (NOTES, "UTF-8 (with BOM)", [])


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_it_reads_utf16_with_a_bom(codec):
    data = NOTES.encode(codec)
    if codec != "utf-16":
        data = ("\ufeff" + NOTES).encode(codec)
    decoded = decode_notes(data)
    assert decoded.encoding == "UTF-16"
    assert decoded.text.lstrip("\ufeff") == NOTES


def test_it_falls_back_to_latin1_with_a_warning_naming_the_line():
    data = "Title\n\nKeynote\n\n• café “quoted”\n".encode("cp1252")
    decoded = decode_notes(data)
    assert decoded.encoding == "Windows-1252"
    assert "• café “quoted”" in decoded.text
    assert [str(w) for w in decoded.warnings] == [
        "line 5: The file is not valid UTF-8 (first bad byte on this line); it was read as "
        "Windows-1252. Check accented letters and quotes."
    ]


def test_it_reads_bytes_windows_1252_lacks_as_latin1():
    decoded = decode_notes(b"Title\n\nbyte \x81 here\n")
    assert decoded.encoding == "Latin-1"


def test_it_replaces_bad_bytes_after_a_utf8_bom_and_says_so():
    decoded = decode_notes(codecs.BOM_UTF8 + b"Title\n\nbad \xff byte\n")
    assert "�" in decoded.text
    assert [str(w) for w in decoded.warnings] == [
        "line 3: The file has bytes that are not valid UTF-8; they were replaced by “�”."
    ]


@pytest.mark.parametrize("data", [b"", b"   \n\n\t\r\n", codecs.BOM_UTF8])
def test_it_refuses_an_empty_file(data):
    with pytest.raises(
        NotesInputError, match=r"^The notes are empty: there is nothing to import\.$"
    ):
        decode_notes(data)


def test_it_refuses_a_binary_file():
    with pytest.raises(
        NotesInputError, match="looks like a binary file \\(it contains NUL bytes\\)"
    ):
        decode_notes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_it_refuses_utf16_without_a_bom_as_binary_and_says_how_to_fix_it():
    with pytest.raises(NotesInputError, match="save it with a byte order mark or as UTF-8"):
        decode_notes(NOTES.encode("utf-16-le"))


def test_it_refuses_control_characters_that_are_not_text():
    with pytest.raises(NotesInputError, match="full of control characters"):
        decode_notes(bytes(range(1, 32)) * 20)


def test_it_refuses_more_than_five_megabytes_with_the_sizes():
    data = b"x" * (MAX_IMPORT_BYTES + 1)
    with pytest.raises(NotesInputError) as error:
        decode_notes(data)
    assert str(error.value) == (
        "The notes are 5.0 MB (5,242,881 bytes); the limit is 5 MB. Split the document into days "
        "and import them one by one."
    )
    assert decode_notes(b"x" * MAX_IMPORT_BYTES).text


@given(st.binary(max_size=400))
@settings(max_examples=150, deadline=None)
def test_it_decodes_any_bytes_or_refuses_them_clearly(data):
    try:
        decoded = decode_notes(data)
    except NotesInputError as error:
        assert str(error)
        return
    parse_notes(decoded.text)

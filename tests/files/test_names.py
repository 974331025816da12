from __future__ import annotations

import pytest

from service.files.kinds import OCTET_STREAM, detect_type
from service.files.names import attachment, safe_filename


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\x00b\x1f.txt", "ab.txt"),
        ("", "file"),
        ("..", "file"),
        ("dir/", "file"),
        ("résumé.pdf", "résumé.pdf"),
    ],
)
def test_filenames_keep_the_last_part_without_control_characters(given: str, kept: str) -> None:
    assert safe_filename(given) == kept


def test_a_long_name_is_cut_to_255_bytes_on_a_character_boundary() -> None:
    name = safe_filename("é" * 200)  # 400 bytes
    assert len(name.encode()) <= 255 and name == "é" * 127


def test_attachment_names_have_an_ascii_fallback_and_the_exact_name() -> None:
    assert attachment('rapport "final" é.pdf') == (
        "attachment; filename=\"rapport _final_ _.pdf\"; filename*=UTF-8''rapport%20%22final%22%20%C3%A9.pdf"
    )


def test_types_come_from_the_bytes() -> None:
    assert detect_type(b"\x89PNG\r\n\x1a\n" + b"\0" * 20) == "image/png"
    assert detect_type(b"<!DOCTYPE html><script>") == "text/html"
    assert detect_type(b"just some words") == OCTET_STREAM
    assert detect_type(b"") == OCTET_STREAM

"""QR codes of web survey links, for printing at the service desk: PNG or SVG by the file's suffix.

segno writes both without other dependencies (no Pillow); error correction M survives a smudged print.
"""

from __future__ import annotations

from pathlib import Path

QR_SUFFIXES = (".png", ".svg")


class BadQrFile(ValueError):
    """The file name does not end in .png or .svg (Chinese message, for staff)."""


def write_qr(url: str, path: Path, scale: int = 8) -> Path:
    """Write ``url`` as a QR code to ``path`` (.png or .svg); BadQrFile for any other suffix."""
    import segno

    if path.suffix.lower() not in QR_SUFFIXES:
        raise BadQrFile(f"二维码文件须以 .png 或 .svg 结尾：{path}")
    segno.make_qr(url, error="m").save(str(path), scale=scale, border=4)
    return path

"""Print-ready item labels: a QR code carrying the item's GS1 Digital Link, its human-readable identifiers, a PIN box.

render_pdf lays labels out on A4 sheets (3 x 8 labels of 63.3 x 34.1 mm, 10 mm
side and 12 mm top and bottom margins, dashed cut guides on the cell edges);
render_zip writes one PNG (300 dpi, 1-bit) or SVG per label plus a manifest.csv
without PINs. Each label: the QR code (error correction M, 4-module quiet
zone, in a 30.1 mm square, so the symbol itself is 21 mm or more) on the left; brand, product, GTIN, lot, serial, expiry
and the PIN box ("scratch to reveal") on the right.

The QR symbols are exactly those of segno.make(uri, error="m",
boost_error=False) (qr_matrix; a test compares them), built about twice as fast:
segno encodes with a fixed mask, then the eight masks are scored (the slow part
of segno) with segno's own rules on whole matrices held as integers. Encoding
is most of the work, so it runs in `workers` processes that return QR paths
(PDF) or whole files (ZIP) while this process lays out and writes the output in
label order. Workers are forked when this process has one thread, and spawned
when it has more (a threaded server), since a forked child could inherit a
lock another thread holds; spawning needs an import-safe __main__.
"""
from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
import secrets
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno

from apps.traceability import digital_link
from apps.traceability.codes import IssuedBatch
from apps.traceability.identifiers import Gtin, IdentifierError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

# Sheet geometry, millimetres.
PAGE_W, PAGE_H = 210.0, 297.0
COLUMNS, ROWS = 3, 8
PER_PAGE = COLUMNS * ROWS
MARGIN_X, MARGIN_Y = 10.0, 12.0
CELL_W = (PAGE_W - 2 * MARGIN_X) / COLUMNS
CELL_H = (PAGE_H - 2 * MARGIN_Y) / ROWS
PAD = 2.0
QR_BOX = CELL_H - 2 * PAD  # the QR code's square, quiet zone included
QUIET_ZONE = 4  # modules
DPI = 300
FORMATS = ("png", "svg")

_PT = 72 / 25.4  # points per millimetre
_PX = DPI / 25.4  # pixels per millimetre
MAX_URI_BYTES = 300  # a version 13 QR code at most: modules of a third of a millimetre or more
_MIN_PER_WORKER = 8
_MAX_CHUNK = 48


class LabelError(IdentifierError):
    """A label or rendering request that cannot be used; `field` names which part."""

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (str(self), self.field)


@dataclass(frozen=True)
class Label:
    """One item's label: `uri` is the Digital Link its QR code carries; the printed fields must agree with it."""

    uri: str
    product: str
    gtin: str
    lot: str
    serial: str
    expiry: str | None = None  # YYMMDD, as in the URI
    pin: str | None = None  # printed in the scratch-off box; never written to a manifest
    brand: str = ""

    def __post_init__(self) -> None:
        link = digital_link.parse(self.uri)
        if len(self.uri.encode()) > MAX_URI_BYTES:
            raise LabelError(f"a label's URI is at most {MAX_URI_BYTES} bytes (so its QR code stays printable)", "uri")
        if link.lot is None or link.serial is None:
            raise LabelError("the URI must name the item's lot (AI 10) and serial (AI 21)", "uri")
        for name, printed, encoded in (("gtin", self.gtin, link.gtin.digits), ("lot", self.lot, link.lot),
                                       ("serial", self.serial, link.serial), ("expiry", self.expiry, link.expiry)):
            if printed != encoded:
                raise LabelError(f"{name} {printed!r} is not the {name} {encoded!r} the URI carries", name)
        for name, text, required in (("product", self.product, True), ("brand", self.brand, False)):
            if not isinstance(text, str) or len(text) > 200 or (required and not text.strip()) or not text.isprintable():
                raise LabelError(f"{name} must be printable text of {'1' if required else '0'}-200 characters", name)
        if self.pin is not None and (not isinstance(self.pin, str) or not 1 <= len(self.pin) <= 20
                                     or not self.pin.isascii() or not self.pin.isalnum()):
            raise LabelError("a PIN is 1-20 ASCII letters and digits", "pin")

    @property
    def file_name(self) -> str:
        """`<gtin>-<lot>-<serial>` with characters unsafe in file names percent-encoded (no extension)."""
        return "-".join(quote(part, safe="") for part in (self.gtin, self.lot, self.serial))


def labels_for_batch(batch: IssuedBatch, resolver: str, product: str, brand: str = "", expiry: str | None = None,
                     with_pins: bool = True, scheme: str = "https") -> list[Label]:
    """The labels of every item of an issued batch, in item order."""
    gtin = Gtin(batch.gtin)
    pins: Sequence[str | None] = batch.pins if with_pins else [None] * batch.size
    return [Label(digital_link.build(resolver, gtin, batch.lot, serial, expiry, scheme=scheme).uri(), product, batch.gtin,
                  batch.lot, serial, expiry, pin, brand) for serial, pin in zip(batch.serials, pins)]


# QR symbols


_N1_LIGHT, _N1_DARK = re.compile(rb"\x00{5,}"), re.compile(rb"\x01{5,}")
_N3 = b"\x01\x00\x01\x01\x01\x00\x01"
_RUN = re.compile(rb"\x01+")


class _Version:
    """What scoring the eight masks of one QR version needs, as integers with one byte a module and 0x02 between rows.

    X[m] turns a mask-0 symbol's data modules into mask m's; FMT[m] is mask m's format information (and the dark
    module); both come from segno's own symbols of this version, so they hold whatever segno puts there.
    """

    def __init__(self, version: int) -> None:
        samples = [segno.make_qr("0", version=version, error="m", mask=m, boost_error=False).matrix for m in range(8)]
        w = self.width = len(samples[0])
        self.stride = w + 1
        # Format information and the dark module; version information too (version 7 up) for ZA: segno scores
        # masks with those areas still light.
        fa = {(k, 8) for k in range(9) if k != 6} | {(8, k) for k in range(9) if k != 6}
        fa |= {(w - k, 8) for k in range(1, 9)} | {(8, w - k) for k in range(1, 9)}
        za = set(fa)
        if w > 41:
            za |= {(i, j) for i in range(6) for j in range(w - 11, w - 8)}
            za |= {(j, i) for i in range(6) for j in range(w - 11, w - 8)}
        ones = self._cells({(i, j) for i in range(w) for j in range(w)})
        sep = self.sep = self._blob([b"\x00" * w] * w, b"\x02")
        self.ones = ones
        self.pairs = ones & ((1 << (8 * (w * self.stride - self.stride))) - 1)  # every row but the first
        self.keep_rows = (ones ^ self._cells(za)) | sep
        self.keep_cols = (ones ^ self._cells({(j, i) for i, j in za})) | sep
        self.keep_final = (ones ^ self._cells(fa)) | sep
        fa_cols = self._cells({(j, i) for i, j in fa})
        rows = [self._blob(s) for s in samples]
        cols = [self._blob(_transpose(s)) for s in samples]
        self.x = [(rows[0] ^ r) & (ones ^ self._cells(fa)) for r in rows]
        self.x_cols = [(cols[0] ^ c) & (ones ^ fa_cols) for c in cols]
        self.fmt = [r & self._cells(fa) for r in rows]

    @staticmethod
    def _blob(rows: Sequence[bytes | bytearray], sep: bytes = b"\x02") -> int:
        return int.from_bytes(sep.join(rows), "big")

    def _cells(self, cells: set[tuple[int, int]]) -> int:
        w = self.width
        grid = [bytearray(w) for _ in range(w)]
        for i, j in cells:
            grid[i][j] = 1
        return self._blob(grid, b"\x00")


def _transpose(rows: Sequence[bytes | bytearray]) -> list[bytes]:
    return [bytes(column) for column in zip(*rows)]


_VERSIONS: dict[int, _Version] = {}


def _penalty(blob: bytes, width: int, stride: int) -> int:
    """segno's N1 and N3 penalties (encoder.mask_scores) of the rows in `blob`, quirks kept so the chosen masks agree."""
    runs = _N1_LIGHT.findall(blob) + _N1_DARK.findall(blob)
    score = sum(map(len, runs)) - 2 * len(runs)
    at = blob.find(_N3)
    while at != -1:  # 1:1:3:1:1 with four light modules (or the edge) before or after it
        idx = at % stride
        if idx == 0 or idx == width - 7 or 1 not in blob[max(at - 4, at - idx):at] \
                or 1 not in blob[at + 7:min(at + 11, at - idx + width)]:
            score += 40
            at = blob.find(_N3, at + 7)
        else:
            at = blob.find(_N3, at + 4)
    return score


def _qr_blob(text: str) -> tuple[int, bytes]:
    """The symbol's width and its rows joined by 0x02, one byte a module (1 = dark)."""
    code = segno.make_qr(text, error="m", mask=0, boost_error=False)
    v = _VERSIONS.get(code.version)
    if v is None:
        v = _VERSIONS[code.version] = _Version(code.version)
    w, stride, ones = v.width, v.stride, v.ones
    size = w * stride - 1
    rows = _Version._blob(code.matrix)
    rows_eval = rows & v.keep_rows
    cols_eval = _Version._blob(_transpose(code.matrix)) & v.keep_cols
    shift = 8 * stride
    best = best_mask = -1
    for mask in range(8):
        m = rows_eval ^ v.x[mask]
        score = _penalty(m.to_bytes(size, "big"), w, stride)
        score += _penalty((cols_eval ^ v.x_cols[mask]).to_bytes(size, "big"), w, stride)
        a = m & ones
        both_dark = a & (a >> shift)
        both_light = ((a | (a >> shift)) ^ ones) & v.pairs
        score += 3 * ((both_dark & (both_dark >> 8)).bit_count() + (both_light & (both_light >> 8)).bit_count())
        score += 10 * int(abs(float(a.bit_count()) / (w ** 2) * 100 - 50) / 5)
        if best < 0 or score < best:
            best, best_mask = score, mask
    final = ((rows & v.keep_final) ^ v.x[best_mask]) | v.fmt[best_mask]
    return w, final.to_bytes(size, "big")


def qr_matrix(text: str) -> tuple[bytes, ...]:
    """The QR code (error correction M) for `text`, row by row, one byte a module (1 = dark), without quiet zone."""
    return tuple(_qr_blob(text)[1].split(b"\x02"))


def _qr_runs(blob: bytes, stride: int) -> list[tuple[int, int, int]]:
    """(x, y, length) of each horizontal run of dark modules, quiet zone included in x and y."""
    return [(m.start() % stride + QUIET_ZONE, m.start() // stride + QUIET_ZONE, m.end() - m.start())
            for m in _RUN.finditer(blob)]


def _qr_path_pdf(text: str) -> tuple[int, str]:
    w, blob = _qr_blob(text)
    return w, "\n".join(f"{x} {y} {n} 1 re" for x, y, n in _qr_runs(blob, w + 1))


# layout, shared by the PDF, PNG and SVG renderers; millimetres from the cell's top left, text y = baseline

REGULAR, BOLD, MONO = "regular", "bold", "mono"
_PDF_FONTS = {REGULAR: "Helvetica", BOLD: "Helvetica-Bold", MONO: "Courier-Bold"}
_CJK_FONT = "STSong-Light"  # an Adobe CID font (not embedded): for names Helvetica's encoding lacks


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    font: str
    size: float  # points
    text: str
    gray: float = 0.0
    centre: bool = False


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float


def _pdf_font(font: str, text: str) -> str:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        _register_cjk()
        return _CJK_FONT
    return _PDF_FONTS[font]


_cjk_registered = False


def _register_cjk() -> None:
    global _cjk_registered
    if not _cjk_registered:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
        _cjk_registered = True


def _measure(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, _pdf_font(font, text), size) / _PT


def _fit(x: float, y: float, font: str, size: float, text: str, width: float, gray: float = 0.0,
         min_size: float = 4.0) -> _Text:
    """Text at `size`, or smaller down to `min_size` to fit `width`, then cut with an ellipsis."""
    wide = _measure(text, font, size)
    if wide > width:
        size = max(min_size, size * width / wide)
        while len(text) > 1 and _measure(text, font, size) > width:
            text = text[:-2].rstrip() + "\u2026"
    return _Text(x, y, font, size, text, gray)


def _expiry_text(expiry: str) -> str:
    day = digital_link.expiry_to_date(expiry)
    return f"{day:%Y-%m}" if expiry.endswith("00") else day.isoformat()


def _layout(label: Label) -> list[_Text | _Box]:
    x = PAD + QR_BOX
    width = CELL_W - x - PAD
    parts: list[_Text | _Box] = []
    y = PAD
    if label.brand:
        y += 2.2
        parts.append(_fit(x, y, REGULAR, 5.5, label.brand, width, gray=0.35))
    y += 3.2
    parts.append(_fit(x, y, BOLD, 7.5, label.product, width, min_size=5.5))
    lines = [f"GTIN {label.gtin}", f"LOT {label.lot}", f"SN {label.serial}"]
    if label.expiry is not None:
        lines.append(f"EXP {_expiry_text(label.expiry)}")
    y += 0.2
    for line in lines:
        y += 2.8
        parts.append(_fit(x, y, REGULAR, 6.5, line, width))
    if label.pin is not None:
        box = _Box(x, CELL_H - PAD - 6.5, width, 6.5)
        parts.append(_Text(x, box.y - 0.8, REGULAR, 4.5, "SCRATCH TO REVEAL PIN", 0.35))
        parts.append(_Box(box.x, box.y, box.w, box.h))
        pin = _fit(x + 1, box.y + box.h / 2 + 1.2, MONO, 10, label.pin, width - 2)
        parts.append(_Text(x + width / 2, pin.y, MONO, pin.size, pin.text, centre=True))
    return parts


# PNG and SVG files of one label

# TrueType fonts tried for PNG text by file name (Pillow looks in the system's font folders), else Pillow's own
# font (Latin letters without accents only).
_PNG_FONTS = {REGULAR: ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf"),
              BOLD: ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf"),
              MONO: ("DejaVuSansMono-Bold.ttf", "LiberationMono-Bold.ttf", "Courier New Bold.ttf")}
_PNG_CJK_FONTS = ("NotoSansCJK-Regular.ttc", "NotoSansSC-Regular.otf", "wqy-microhei.ttc", "wqy-zenhei.ttc")


@lru_cache(maxsize=64)
def _png_font(font: str, px: int, cjk: bool) -> Any:
    from PIL import ImageFont

    for name in (_PNG_CJK_FONTS if cjk else ()) + _PNG_FONTS[font]:
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            continue
    return ImageFont.load_default(size=px)


@lru_cache(maxsize=1024)
def _text_stamp(text: str, font: str, size_pt: float, centre: bool) -> tuple[Any, int, int]:
    """Rendered text as a mask, and its offset from the anchor (left or centre of the baseline); most repeat."""
    from PIL import Image, ImageDraw

    face = _png_font(font, max(6, round(size_pt / 72 * DPI)), _pdf_font(font, text) == _CJK_FONT)
    anchor = "ms" if centre else "ls"
    left, top, right, bottom = face.getbbox(text, anchor=anchor)
    stamp = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(stamp).text((-left, -top), text, fill=255, font=face, anchor=anchor)
    return stamp, left, top


_TO_GRAY = bytes([255, 0, 255]) + bytes(253)  # 0 (light) -> white, 1 (dark) -> black, 2 (row separator) -> white


def render_label_png(label: Label) -> bytes:
    """One label as a 1-bit PNG at 300 dpi."""
    from PIL import Image, ImageDraw

    width, height = round(CELL_W * _PX), round(CELL_H * _PX)
    image = Image.new("L", (width, height), 255)
    w, blob = _qr_blob(label.uri)
    modules = w + 2 * QUIET_ZONE
    box = round(QR_BOX * _PX)
    scale = box // modules
    symbol = Image.frombytes("L", (w + 1, w), (blob + b"\x02").translate(_TO_GRAY)).crop((0, 0, w, w))
    offset = round(PAD * _PX) + (box - modules * scale) // 2 + QUIET_ZONE * scale
    image.paste(symbol.resize((w * scale, w * scale), Image.Resampling.NEAREST), (offset, offset))
    draw = ImageDraw.Draw(image)
    for part in _layout(label):
        if isinstance(part, _Box):
            draw.rectangle([round(part.x * _PX), round(part.y * _PX), round((part.x + part.w) * _PX),
                            round((part.y + part.h) * _PX)], outline=0, width=2)
        else:
            stamp, left, top = _text_stamp(part.text, part.font, part.size, part.centre)
            x = round(part.x * _PX) + left
            room = width - round(PAD * _PX) - x  # the layout fits Helvetica's widths; squeeze if this font is wider
            if stamp.width > room:
                stamp = stamp.resize((room, stamp.height), Image.Resampling.BILINEAR)
            image.paste(round(part.gray * 255), (x, round(part.y * _PX) + top), stamp)
    out = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(out, "PNG", dpi=(DPI, DPI), compress_level=3)
    return out.getvalue()


_SVG_FONTS = {REGULAR: 'font-family="Helvetica,Arial,sans-serif"',
              BOLD: 'font-family="Helvetica,Arial,sans-serif" font-weight="bold"',
              MONO: 'font-family="Courier New,Courier,monospace" font-weight="bold"'}


def render_label_svg(label: Label) -> bytes:
    """One label as an SVG drawing in millimetres."""
    w, blob = _qr_blob(label.uri)
    module = QR_BOX / (w + 2 * QUIET_ZONE)
    path = "".join(f"M{x} {y}h{n}v1h-{n}z" for x, y, n in _qr_runs(blob, w + 1))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{CELL_W:.2f}mm" height="{CELL_H:.2f}mm" '
           f'viewBox="0 0 {CELL_W:.3f} {CELL_H:.3f}">',
           f'<rect width="{CELL_W:.3f}" height="{CELL_H:.3f}" fill="#fff"/>',
           f'<path transform="translate({PAD} {PAD}) scale({module:.5f})" fill="#000" shape-rendering="crispEdges" '
           f'd="{path}"/>']
    for part in _layout(label):
        if isinstance(part, _Box):
            out.append(f'<rect x="{part.x:.3f}" y="{part.y:.3f}" width="{part.w:.3f}" height="{part.h:.3f}" '
                       f'fill="none" stroke="#000" stroke-width="0.2"/>')
        else:
            gray = round(part.gray * 255)
            anchor = ' text-anchor="middle"' if part.centre else ""
            out.append(f'<text x="{part.x:.3f}" y="{part.y:.3f}" {_SVG_FONTS[part.font]} '
                       f'font-size="{part.size / _PT:.3f}" '
                       f'fill="#{gray:02x}{gray:02x}{gray:02x}"{anchor}>{escape(part.text)}</text>')
    out.append("</svg>\n")
    return "\n".join(out).encode()


# worker entry points (module level, so a spawned process can run them)


def _pdf_chunk(uris: list[str]) -> list[tuple[int, str]]:
    return [_qr_path_pdf(uri) for uri in uris]


def _file_chunk(fmt: str, labels: list[Label]) -> list[bytes]:
    render = render_label_png if fmt == "png" else render_label_svg
    return [render(label) for label in labels]


def _run(work: Callable[..., list[Any]], chunks: list[list[Any]], workers: int, *lead: Any) -> Iterator[list[Any]]:
    """work(*lead, chunk) for each chunk, results in chunk order; in `workers` processes if more than one."""
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield work(*lead, chunk)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context())
    try:
        yield from pool.map(work, *([item] * len(chunks) for item in lead), chunks)
    finally:  # also when the caller stops early (an error, a progress callback that raises): drop queued chunks
        pool.shutdown(wait=True, cancel_futures=True)


def _mp_context() -> BaseContext:
    """fork when this process runs a single thread (fast, and no re-import of __main__); spawn otherwise (a threaded
    server: a forked child could inherit a lock another thread holds)."""
    if threading.active_count() == 1 and "fork" in get_all_start_methods():
        return get_context("fork")
    return get_context("spawn")


def _plan(labels: Sequence[Label], workers: int, progress: Progress | None) -> tuple[int, list[list[Label]]]:
    if not isinstance(labels, (list, tuple)):
        raise LabelError("labels must be a list of Label", "labels")
    if not labels:
        raise LabelError("there are no labels to render", "labels")
    if not all(isinstance(label, Label) for label in labels):
        raise LabelError("every label must be a Label", "labels")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise LabelError(f"workers must be a whole number from 1, not {workers!r}", "workers")
    if progress is not None and not callable(progress):
        raise LabelError("progress must be callable", "progress")
    n = len(labels)
    workers = max(1, min(workers, n // _MIN_PER_WORKER))
    size = max(_MIN_PER_WORKER, min(_MAX_CHUNK, math.ceil(n / (4 * workers))))
    return workers, [list(labels[i:i + size]) for i in range(0, n, size)]


def _write_atomically(out_path: str | os.PathLike[str], write: Callable[[io.BufferedWriter], None]) -> None:
    """write() into a new file beside out_path, renamed to it once complete: a reader never sees half a file."""
    target = Path(out_path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temp, "xb") as out:
            write(out)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# PDF sheets


def render_pdf(labels: Sequence[Label], out_path: str | os.PathLike[str], progress: Progress | None = None,
               workers: int = 2) -> int:
    """Write the labels as A4 sheets of 3 x 8 to out_path; returns the number of pages."""
    workers, chunks = _plan(labels, workers, progress)
    total, pages = len(labels), math.ceil(len(labels) / PER_PAGE)

    def write(out: io.BufferedWriter) -> None:
        from reportlab.pdfgen.canvas import Canvas

        canvas = Canvas(out, pagesize=(PAGE_W * _PT, PAGE_H * _PT), pageCompression=1)
        canvas.setTitle(f"Item labels ({total})")
        canvas.setCreator("apps.traceability.labels")
        done = 0
        with closing(_run(_pdf_chunk, [[label.uri for label in chunk] for chunk in chunks], workers)) as results:
            for chunk, qrs in zip(chunks, results):
                for label, (w, path) in zip(chunk, qrs):
                    slot = done % PER_PAGE
                    if slot == 0:
                        _page_frame(canvas, done // PER_PAGE + 1, pages)
                    _draw_cell(canvas, label, MARGIN_X + (slot % COLUMNS) * CELL_W, MARGIN_Y + (slot // COLUMNS) * CELL_H,
                               w, path)
                    done += 1
                    if slot == PER_PAGE - 1 or done == total:
                        canvas.showPage()
                if progress is not None:
                    progress(done, total)
        canvas.save()

    _write_atomically(out_path, write)
    log.info("rendered %d labels on %d pages to %s with %d worker(s)", total, pages, out_path, workers)
    return pages


def _page_frame(canvas: Any, page: int, pages: int) -> None:
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.7)
    canvas.setDash(2, 2)
    top, bottom = (PAGE_H - MARGIN_Y) * _PT, MARGIN_Y * _PT
    left, right = MARGIN_X * _PT, (PAGE_W - MARGIN_X) * _PT
    for i in range(COLUMNS + 1):
        x = (MARGIN_X + i * CELL_W) * _PT
        canvas.line(x, bottom - 4 * _PT, x, top + 4 * _PT)
    for j in range(ROWS + 1):
        y = (MARGIN_Y + j * CELL_H) * _PT
        canvas.line(left - 4 * _PT, y, right + 4 * _PT, y)
    canvas.setDash()
    canvas.setStrokeGray(0)
    canvas.setFillGray(0.5)
    canvas.setFont("Helvetica", 6)
    canvas.drawRightString(right, (MARGIN_Y - 8) * _PT, f"sheet {page} of {pages}")


def _draw_cell(canvas: Any, label: Label, left: float, top: float, w: int, path: str) -> None:
    """One label in the cell whose top left corner is `left`, `top` mm from the page's top left."""
    x0, y0 = left * _PT, (PAGE_H - top) * _PT
    module = QR_BOX / (w + 2 * QUIET_ZONE) * _PT
    canvas.addLiteral(f"q 0 g {module:.4f} 0 0 {-module:.4f} {x0 + PAD * _PT:.3f} {y0 - PAD * _PT:.3f} cm\n{path}\nf\nQ")
    for part in _layout(label):
        if isinstance(part, _Box):
            canvas.setLineWidth(0.6)
            canvas.rect(x0 + part.x * _PT, y0 - (part.y + part.h) * _PT, part.w * _PT, part.h * _PT, stroke=1, fill=0)
            continue
        canvas.setFillGray(part.gray)
        canvas.setFont(_pdf_font(part.font, part.text), part.size)
        draw = canvas.drawCentredString if part.centre else canvas.drawString
        draw(x0 + part.x * _PT, y0 - part.y * _PT, part.text)


# ZIP of label files


def render_zip(labels: Sequence[Label], out_path: str | os.PathLike[str], fmt: str = "png",
               progress: Progress | None = None, workers: int = 2) -> int:
    """Write one PNG or SVG file per label and a manifest.csv (no PINs) as a ZIP to out_path; returns the file count."""
    if fmt not in FORMATS:
        raise LabelError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}", "fmt")
    workers, chunks = _plan(labels, workers, progress)
    names = [f"{label.file_name}.{fmt}" for label in labels]
    if len(set(names)) != len(names):
        raise LabelError("two labels are for the same GTIN, lot and serial", "labels")
    total = len(labels)

    def write(out: io.BufferedWriter) -> None:
        manifest = io.StringIO()
        rows = csv.writer(manifest, lineterminator="\n")
        rows.writerow(["uri", "gtin", "lot", "serial", "expiry", "file"])
        method = zipfile.ZIP_STORED if fmt == "png" else zipfile.ZIP_DEFLATED
        done = 0
        with zipfile.ZipFile(out, "w", compression=method) as archive, \
                closing(_run(_file_chunk, chunks, workers, fmt)) as results:
            for chunk, files in zip(chunks, results):
                for label, data in zip(chunk, files):
                    archive.writestr(names[done], data)
                    rows.writerow([label.uri, label.gtin, label.lot, label.serial, label.expiry or "", names[done]])
                    done += 1
                if progress is not None:
                    progress(done, total)
            archive.writestr("manifest.csv", manifest.getvalue(), compress_type=zipfile.ZIP_DEFLATED)

    _write_atomically(out_path, write)
    log.info("rendered %d labels as %s files to %s with %d worker(s)", total, fmt, out_path, workers)
    return total

"""Label sheets and files: every QR code decodes (zxing-cpp) to its label's Digital Link; layout, progress, refusals."""
from __future__ import annotations

import base64
import csv
import io
import pickle
import random
import re
import string
import threading
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

import pytest
import segno
import zxingcpp
from PIL import Image, ImageDraw

from apps.traceability import labels as lbl
from apps.traceability.codes import issue_batch
from apps.traceability.identifiers import IdentifierError
from apps.traceability.labels import Label, LabelError, render_pdf, render_zip

RESOLVER = "id.acme-tea.example"


@pytest.fixture(scope="module")
def batch_labels() -> list[Label]:
    batch = issue_batch("09506000134352", "L2026/04", 30)
    labels = lbl.labels_for_batch(batch, RESOLVER, "Organic green tea, loose leaf 250 g", "Acme Tea Co.", "271100")
    # one without a PIN or expiry, with a name Helvetica cannot show, and a long lot
    first = labels[0]
    labels[1] = Label(f"https://{RESOLVER}/01/09506000134352/10/L2026%2F04/21/{batch.serials[1]}", "有机绿茶 250 克",
                      first.gtin, first.lot, batch.serials[1], brand="Ácme Tée")
    return labels


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def draw_runs(runs: list[tuple[int, int, int]], scale: int = 6) -> Image.Image:
    """A QR code from (x, y, length) runs of dark modules (quiet zone included in x and y)."""
    size = max(x + n for x, _, n in runs) + 4
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, n in runs:
        draw.rectangle([x * scale, y * scale, (x + n) * scale - 1, (y + 1) * scale - 1], fill=0)
    return image


# QR symbols


def test_qr_matrices_are_segnos_own() -> None:
    rng = random.Random(11)
    texts = [f"https://{RESOLVER}/01/09506000134352/10/L{i}/21/{''.join(rng.choices(string.ascii_uppercase, k=12))}"
             for i in range(40)]
    texts += ["".join(rng.choices(string.printable[:94], k=rng.randint(1, 250))) for _ in range(80)]
    versions = set()
    for text in texts:
        code = segno.make(text, error="m", micro=False, boost_error=False)
        versions.add(code.version)
        assert lbl.qr_matrix(text) == tuple(bytes(row) for row in code.matrix), text
    assert min(versions) <= 2 and max(versions) >= 9  # with and without version information


def test_the_qr_code_is_at_least_18_mm_in_every_output(batch_labels: list[Label]) -> None:
    for width in (21, 37, 41, 69):  # versions 1, 5, 6, 13 (the largest MAX_URI_BYTES allows)
        assert lbl.QR_BOX * width / (width + 2 * lbl.QUIET_ZONE) >= 18
    png = Image.open(io.BytesIO(lbl.render_label_png(batch_labels[2])))
    assert png.info["dpi"] == pytest.approx((300, 300), abs=0.01) and png.mode == "1"
    (result,) = zxingcpp.read_barcodes(png)
    assert result.text == batch_labels[2].uri and result.ec_level == "M"
    side_px = result.position.top_right.x - result.position.top_left.x
    assert side_px / 300 * 25.4 >= 18


# PDF


def pdf_streams(data: bytes) -> list[bytes]:
    streams = []
    for match in re.finditer(rb"/Filter \[ /ASCII85Decode /FlateDecode \] /Length (\d+)\s*>>\s*stream\r?\n", data):
        raw = data[match.end():match.end() + int(match[1])]
        streams.append(zlib.decompress(base64.a85decode(raw.strip(), adobe=True)))
    return streams


def test_pdf_sheets_hold_every_label_in_order(tmp_path: Path, batch_labels: list[Label]) -> None:
    calls: list[tuple[int, int]] = []
    out = tmp_path / "labels.pdf"
    assert render_pdf(batch_labels, out, progress=lambda done, total: calls.append((done, total)), workers=2) == 2
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"/Count 2" in data and data.count(b"/Type /Page\n") == 2
    assert calls[-1] == (30, 30) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    pages = [s for s in pdf_streams(data) if b" re" in s]
    assert len(pages) == 2
    found = []
    for page in pages:
        for match in re.finditer(rb"q 0 g ([\d.]+) 0 0 -[\d.]+ ([\d.]+) ([\d.]+) cm\n(.*?)\nf\nQ", page, re.S):
            runs = [tuple(map(int, m)) for m in re.findall(rb"(\d+) (\d+) (\d+) 1 re", match[4])]
            width = max(x + n for x, _, n in runs) - lbl.QUIET_ZONE  # type: ignore[misc]
            found.append((float(match[1]) * width * 25.4 / 72, decode(draw_runs(runs))))  # type: ignore[arg-type]
    assert [texts for _, texts in found] == [[label.uri] for label in batch_labels]
    assert all(side_mm > 18 for side_mm, _ in found)
    text = b"".join(pages)
    for label in (batch_labels[0], batch_labels[29]):
        assert f"(SN {label.serial}) Tj".encode() in text and f"({label.pin}) Tj".encode() in text
    assert b"(EXP 2027-11) Tj" in text and b"(LOT L2026/04) Tj" in text
    assert b"/STSong-Light" in data  # the Chinese product name


def test_one_worker_renders_the_same_sheets(tmp_path: Path, batch_labels: list[Label]) -> None:
    render_pdf(batch_labels[:5], tmp_path / "a.pdf", workers=1)
    render_pdf(batch_labels[:5], tmp_path / "b.pdf", workers=4)  # few labels: in this process anyway
    strip = re.compile(rb"/(CreationDate|ModDate) \(.*?\)|/ID \[.*?\]", re.S)
    assert pdf_streams(strip.sub(b"", (tmp_path / "a.pdf").read_bytes())) == \
        pdf_streams(strip.sub(b"", (tmp_path / "b.pdf").read_bytes()))


# ZIP


def test_png_zip_files_decode_and_the_manifest_has_no_pins(tmp_path: Path, batch_labels: list[Label]) -> None:
    calls: list[int] = []
    out = tmp_path / "labels.zip"
    assert render_zip(batch_labels, out, "png", progress=lambda done, total: calls.append(done), workers=2) == 30
    assert calls[-1] == 30
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        images = {name: archive.read(name) for name in names if name.endswith(".png")}
    assert names[-1] == "manifest.csv" and len(images) == 30
    assert [row["file"] for row in manifest] == names[:-1]
    assert names[0] == f"09506000134352-L2026%2F04-{batch_labels[0].serial}.png"
    assert list(manifest[0]) == ["uri", "gtin", "lot", "serial", "expiry", "file"]
    for label, row in zip(batch_labels, manifest):
        assert (row["uri"], row["gtin"], row["lot"], row["serial"], row["expiry"]) == \
            (label.uri, label.gtin, label.lot, label.serial, label.expiry or "")
        assert decode(Image.open(io.BytesIO(images[row["file"]]))) == [label.uri]
    assert not any(label.pin in str(manifest) for label in batch_labels if label.pin)


def svg_runs(svg: bytes) -> list[tuple[int, int, int]]:
    root = ElementTree.fromstring(svg)
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    return [tuple(map(int, m)) for m in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.get("d", ""))]  # type: ignore[misc]


def test_svg_zip_files_are_drawings_whose_qr_codes_decode(tmp_path: Path, batch_labels: list[Label]) -> None:
    out = tmp_path / "labels.zip"
    render_zip(batch_labels[:12], out, fmt="svg", workers=1)
    with zipfile.ZipFile(out) as archive:
        files = [archive.read(name) for name in archive.namelist() if name.endswith(".svg")]
        assert archive.getinfo(archive.namelist()[0]).compress_type == zipfile.ZIP_DEFLATED
    assert len(files) == 12
    for label, svg in zip(batch_labels, files):
        assert decode(draw_runs(svg_runs(svg))) == [label.uri]
        assert f">SN {label.serial}</text>".encode() in svg
    assert "有机绿茶".encode() in files[1] and b"Tj" not in files[1]


def test_workers_are_spawned_from_a_threaded_process(tmp_path: Path, batch_labels: list[Label]) -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert lbl._mp_context().get_start_method() == "spawn"
        render_zip(batch_labels[:16], tmp_path / "spawned.zip", "svg", workers=2)
    finally:
        release.set()
        other.join()
    with zipfile.ZipFile(tmp_path / "spawned.zip") as archive:
        assert len(archive.namelist()) == 17


# refusals


def test_rendering_requests_are_refused_clearly(tmp_path: Path, batch_labels: list[Label]) -> None:
    cases = [
        (lambda: render_pdf([], tmp_path / "x.pdf"), "labels", "no labels"),
        (lambda: render_zip([], tmp_path / "x.zip"), "labels", "no labels"),
        (lambda: render_zip(batch_labels, tmp_path / "x.zip", fmt="jpg"), "fmt", "png, svg"),
        (lambda: render_pdf(iter(batch_labels), tmp_path / "x.pdf"), "labels", "list"),
        (lambda: render_pdf([batch_labels[0], "label"], tmp_path / "x.pdf"), "labels", "Label"),
        (lambda: render_pdf(batch_labels, tmp_path / "x.pdf", workers=0), "workers", "workers"),
        (lambda: render_zip(batch_labels[:2] * 2, tmp_path / "x.zip"), "labels", "same GTIN"),
        (lambda: render_pdf(batch_labels, tmp_path / "x.pdf", progress="50%"),  # type: ignore[arg-type]
         "progress", "callable"),
    ]
    for call, field, words in cases:
        with pytest.raises(LabelError, match=words) as info:
            call()
        assert info.value.field == field
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_no_file_behind(tmp_path: Path, batch_labels: list[Label]) -> None:
    out = tmp_path / "labels.pdf"
    out.write_bytes(b"the previous sheets")

    def cancel(done: int, total: int) -> None:
        raise KeyboardInterrupt  # a cancelled job

    with pytest.raises(KeyboardInterrupt):
        render_pdf(batch_labels, out, progress=cancel, workers=2)
    assert out.read_bytes() == b"the previous sheets" and list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("changes, field", [
    ({"gtin": "09506000134369"}, "gtin"),
    ({"serial": "OTHER"}, "serial"),
    ({"lot": "L2"}, "lot"),
    ({"expiry": "271231"}, "expiry"),
    ({"uri": f"https://{RESOLVER}/01/09506000134352/10/L2026%2F04"}, "uri"),  # no serial
    ({"uri": "https://x.test/01/09506000134353/10/L/21/S"}, "gtin"),
    ({"product": " "}, "product"),
    ({"product": "tea\nbag"}, "product"),
    ({"pin": "AB CD"}, "pin"),
    ({"brand": "x" * 201}, "brand"),
])
def test_a_label_must_agree_with_its_uri(batch_labels: list[Label], changes: dict[str, str], field: str) -> None:
    fields = {name: getattr(batch_labels[2], name) for name in ("uri", "product", "gtin", "lot", "serial", "expiry",
                                                                "pin", "brand")}
    with pytest.raises(IdentifierError) as info:
        Label(**{**fields, **changes})
    assert info.value.field == field


def test_a_uri_too_long_for_a_printable_code_is_refused() -> None:
    uri = f"https://{'r' * 300}.example/01/09506000134352/10/L/21/S"
    with pytest.raises(LabelError) as info:
        Label(uri, "Tea", "09506000134352", "L", "S")
    assert info.value.field == "uri"
    error = pickle.loads(pickle.dumps(info.value))
    assert error.field == "uri" and str(error) == str(info.value)


def test_labels_for_a_batch_follow_item_order() -> None:
    batch = issue_batch("09506000134352", "L7", 3)
    labels = lbl.labels_for_batch(batch, "localhost:8000", "Tea", with_pins=False, scheme="http")
    assert [label.serial for label in labels] == list(batch.serials)
    assert labels[0].uri == f"http://localhost:8000/01/09506000134352/10/L7/21/{batch.serials[0]}"
    assert all(label.pin is None and label.expiry is None and label.brand == "" for label in labels)
    assert [label.pin for label in lbl.labels_for_batch(batch, RESOLVER, "Tea")] == list(batch.pins)

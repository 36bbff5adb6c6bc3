"""The traceability app in headless Chromium: a brand issues a batch and prints its labels through the console, the
goods travel through the record form, and a QR code decoded from a printed label opens the consumer page, whose
verdict, timeline and on-chain proofs the browser shows; recalls, a refused second sale, a forged serial, Chinese and
a phone-sized screen.

Each test gets what it builds on from module fixtures (so a module split across pytest-xdist workers still passes);
batches a test changes for good (a recall, a sale) are its own.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from apps.traceability import digital_link
from apps.traceability.identifiers import Gtin
from tests.apps.traceability.stack import BRAND, CARRIER, SHOP

if TYPE_CHECKING:
    from tests.apps.traceability.browser.conftest import TraceSite

GTIN = "00614141107346"
PRODUCT = "Green tea 250 g"
LOT = "B1"  # issued through the console's issuance form
COUNT = 6
EXPIRY = "301231"
JOB_TIMEOUT_MS = 30_000


@dataclass
class Labels:
    """A batch's label images as downloaded from the console: PNG files and the manifest's rows, in label order."""

    images: dict[str, bytes]
    manifest: list[dict[str, str]]

    def decode(self, i: int) -> str:
        """The Digital Link the i-th label's QR code carries, read from its image as a phone would."""
        image = Image.open(io.BytesIO(self.images[self.manifest[i]["file"]]))
        (result,) = zxingcpp.read_barcodes(image)
        return str(result.text)


def wait_job_done(page: Page) -> None:
    """Wait on a job page until its progress bar is full and its state is done."""
    expect(page.locator('#job [role="progressbar"]')).to_be_visible()
    expect(page.locator("#job")).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#bar")).to_have_attribute("style", re.compile(r"width:\s*100%"))
    expect(page.locator("#error")).to_be_hidden()


def download(page: Page) -> tuple[str, bytes]:
    """Download a finished job's file with the page's session: its suggested name and its bytes."""
    link = page.locator("#download")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    done = info.value
    path = done.path()
    assert path is not None, done.failure()
    with open(path, "rb") as f:
        return done.suggested_filename, f.read()


def print_labels(site: TraceSite, fmt: str) -> tuple[str, bytes]:
    """Print the batch's labels from its console page in one format; the downloaded file."""
    page = site.tab("ann")
    page.goto(f"/console/batches/{GTIN}/{LOT}")
    page.locator(f'#labels form:has(input[name="format"][value="{fmt}"]) button').click()
    page.wait_for_url(re.compile(r"/console/jobs/[0-9a-f]+$"))
    wait_job_done(page)
    expect(page.locator("#message")).to_have_text(f"{COUNT} labels ready")
    return download(page)


def record(page: Page, step: str, epcs: list[str] | None = None, to: str = "", temperature: str = "",
           **rng: str) -> Page:
    """Fill and send the console's record form (EPCs typed in, or a batch range); the page it answers with."""
    page.goto("/console/record")
    form = page.locator("#record-form")
    form.locator("select[name=step]").select_option(step)
    if epcs:
        form.locator("textarea[name=epcs]").fill("\n".join(epcs))
    for name, value in rng.items():
        form.locator(f"input[name={name}]").fill(value)
    if to:
        form.locator("select[name=to]").select_option(to)
    if temperature:
        form.locator("input[name=temperature]").fill(temperature)
    form.locator("button").click()
    page.wait_for_load_state()
    expect(page.locator("#recorded, .refused").first).to_be_visible()
    return page


def recorded(page: Page, step_label: str) -> None:
    """The record page confirms the step (block and event hash), with no refusal."""
    expect(page.locator("#recorded")).to_contain_text(step_label)
    expect(page.locator("#recorded")).to_have_attribute("data-hash", re.compile(r"^ni:///sha-256;"))
    expect(page.locator(".refused")).to_have_count(0)


@pytest.fixture
def consumer(site: TraceSite) -> Iterator[Page]:
    """A consumer's phone browser: no console session."""
    page = site.consumer()
    yield page
    page.context.close()


def verdict(page: Page, expected: str) -> None:
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", expected)


def proofs_all_verified(page: Page) -> int:
    """Wait for the page's script to check the on-chain proofs; every one is verified. How many there are."""
    proofs = page.locator("#proofs")
    expect(proofs).to_have_attribute("data-done", "1", timeout=JOB_TIMEOUT_MS)
    items = proofs.locator("li")
    count = items.count()
    assert count > 0
    assert items.evaluate_all("lis => lis.map(li => li.className)") == ["ok"] * count, proofs.inner_text()
    return count


# --- what the tests build on ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued(site: TraceSite) -> str:
    """A product registered and a batch issued through the console's forms; the URL of the issuance job's page."""
    page = site.tab("ann")
    page.goto("/console/products")
    form = page.locator("#product-form")
    form.locator("input[name=gtin]").fill(GTIN)
    form.locator("input[name=prefix]").fill("0614141")
    form.locator("input[name=name]").fill(PRODUCT)
    form.locator("button").click()
    expect(page.locator("#notice")).to_contain_text(GTIN)
    expect(page.locator("#products")).to_contain_text(PRODUCT)
    page.goto("/console/batches")
    form = page.locator("#issue-form")
    form.locator("select[name=gtin]").select_option(GTIN)
    form.locator("input[name=lot]").fill(LOT)
    form.locator("input[name=count]").fill(str(COUNT))
    form.locator("input[name=expiry]").fill(EXPIRY)
    form.locator("button").click()
    page.wait_for_url(re.compile(r"/console/jobs/[0-9a-f]+$"))
    wait_job_done(page)
    return page.url


@pytest.fixture(scope="module")
def labels(site: TraceSite, issued: str) -> Labels:
    """The batch's labels printed as a ZIP of PNG images through a label job, downloaded by the browser."""
    name, data = print_labels(site, "png")
    assert name == f"labels-{GTIN}-{LOT}-png.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        images = {n: archive.read(n) for n in archive.namelist() if n.endswith(".png")}
    assert len(images) == len(manifest) == COUNT
    return Labels(images, manifest)


@pytest.fixture(scope="module")
def journey(site: TraceSite, labels: Labels) -> list[str]:
    """The first two labelled items shipped by the brand to the carrier and received by it, through the record form
    (the EPCs typed in are the Digital Links read from the labels); those Digital Links."""
    links = [labels.decode(0), labels.decode(1)]
    shipped = record(site.tab("ann"), "shipping", links, to=CARRIER, temperature="4.5")
    recorded(shipped, "Shipped")
    received = record(site.tab("sam"), "receiving", links)
    recorded(received, "Received")
    return links


def serials(site: TraceSite, lot: str, count: int) -> list[str]:
    """Issue a batch of the brand's product through the service (for tests that change it for good); its serials."""
    site.stack.service.issue_batch(BRAND, GTIN, lot, count)
    return [c.serial for c in site.stack.store.codes(GTIN, lot, limit=count)]


# --- the tests --------------------------------------------------------------------------------------------------------


def test_a_brand_issues_a_batch_and_prints_its_labels_through_the_console(site: TraceSite, issued: str,
                                                                        labels: Labels) -> None:
    page = site.tab("ann")
    page.goto(issued)  # the issuance job: finished, its bar full, a link to the batch
    wait_job_done(page)
    expect(page.locator("#message")).to_contain_text("block")
    page.locator("#open-batch").click()
    page.wait_for_url(f"{site.url}/console/batches/{GTIN}/{LOT}")
    expect(page.locator("#count")).to_have_text(str(COUNT))
    expect(page.locator("#codes-held")).to_have_text(str(COUNT))
    expect(page.locator("#root")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    name, pdf = print_labels(site, "pdf")
    assert name == f"labels-{GTIN}-{LOT}.pdf" and pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    page.goto(f"/console/batches/{GTIN}/{LOT}")  # both label jobs are listed, done, with their downloads
    expect(page.locator("#labels ul.jobs li")).to_have_count(2)
    expect(page.locator("#labels ul.jobs li", has_text="Done")).to_have_count(2)
    rows = labels.manifest
    assert [row["lot"] for row in rows] == [LOT] * COUNT and {row["expiry"] for row in rows} == {EXPIRY}
    assert len({row["serial"] for row in rows}) == COUNT
    assert {row["serial"] for row in rows} == {c.serial for c in site.stack.store.codes(GTIN, LOT, limit=COUNT)}


def test_shipping_and_receiving_through_the_record_form_show_in_the_item_journey(site: TraceSite,
                                                                                 journey: list[str]) -> None:
    page = site.tab("sam")
    page.goto("/console/items")
    page.locator("#item-form input[name=epc]").fill(journey[0])
    page.locator("#item-form button").click()
    facts = page.locator("#item-facts")
    expect(facts).to_have_attribute("data-key", f"sgtin:{GTIN}.{digital_link.parse(journey[0]).serial}")
    expect(page.locator("#holder")).to_have_text("Swift Logistics")
    expect(page.locator("#handovers")).to_contain_text("Brand A Tea Co. → Swift Logistics")
    steps = page.locator("#timeline li.step")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("Shipped")
    expect(steps.nth(0)).to_contain_text("Brand A Tea Co.")
    expect(steps.nth(0).locator(".sensor")).to_contain_text("4.5")
    expect(steps.nth(1)).to_contain_text("Received")
    expect(steps.nth(1)).to_contain_text("Swift Logistics")
    page.goto("/console/")  # the carrier's dashboard lists what it holds
    expect(page.locator("body")).to_contain_text(f"sgtin:{GTIN}.{digital_link.parse(journey[1]).serial}")


def test_a_qr_code_read_from_a_printed_label_opens_the_genuine_consumer_page(site: TraceSite, labels: Labels,
                                                                             journey: list[str],
                                                                             consumer: Page) -> None:
    uri = labels.decode(0)
    assert uri == labels.manifest[0]["uri"] and uri in journey
    assert uri.startswith(f"{site.url}/01/{GTIN}/10/{LOT}/21/") and uri.endswith(f"?17={EXPIRY}")
    consumer.goto(uri)
    verdict(consumer, "genuine")
    expect(consumer.locator("#verdict h1")).to_have_text("Genuine")
    expect(consumer.locator("#product")).to_have_text(PRODUCT)
    expect(consumer.locator("#serial")).to_have_text(digital_link.parse(uri).serial or "")
    expect(consumer.locator("#expiry")).to_have_text("2030-12-31")
    steps = consumer.locator("#timeline li.step")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("Codes issued and committed")
    expect(steps.nth(1)).to_contain_text("Shipped")
    expect(steps.nth(1).locator(".org")).to_have_text("Brand A Tea Co.")
    expect(steps.nth(2)).to_contain_text("Received")
    expect(steps.nth(2).locator(".org")).to_have_text("Swift Logistics")
    assert proofs_all_verified(consumer) >= 3  # the code in its batch, and each anchored step
    expect(consumer.locator("#timeline .proof.ok")).to_have_count(2)  # each step marked as on chain
    expect(consumer.locator("#proofs li").first).to_contain_text(f"is in batch {LOT}")


def test_a_recall_through_the_console_shows_on_the_consumer_page(site: TraceSite, issued: str,
                                                                 consumer: Page) -> None:
    serial = serials(site, "R1", 3)[1]
    link = f"/01/{GTIN}/10/R1/21/{serial}"
    consumer.goto(link)
    verdict(consumer, "genuine")
    page = site.tab("ann")
    page.goto(f"/console/batches/{GTIN}/R1")
    page.locator("#recall-form input[name=reason]").fill("label misprint")
    page.locator("#recall-form button").click()
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("#recalled")).to_have_attribute("data-recalled", "label misprint")
    expect(page.locator("#recall-form")).to_have_count(0)
    consumer.goto(link)
    verdict(consumer, "recalled")
    expect(consumer.locator("#verdict")).to_contain_text("label misprint")


def test_a_second_sale_shows_the_contracts_refusal_and_the_item_reads_as_sold(site: TraceSite, issued: str,
                                                                              consumer: Page) -> None:
    serial = serials(site, "S1", 2)[0]
    item = f"sgtin:{GTIN}.{serial}"  # typed as a key into the form this time
    recorded(record(site.tab("ann"), "shipping", [item], to=SHOP), "Shipped")
    rita = site.tab("rita")
    recorded(record(rita, "receiving", [item]), "Received")
    recorded(record(rita, "retail_selling", gtin=GTIN, lot="S1", first="1", last="1"), "Sold")
    again = record(rita, "retail_selling", [item])
    expect(again.locator(".refused")).to_be_visible()
    expect(again.locator("#error")).to_contain_text(f"{item} was already sold")
    expect(again.locator("#recorded")).to_have_count(0)
    consumer.goto(f"/01/{GTIN}/10/S1/21/{serial}")
    verdict(consumer, "sold")
    expect(consumer.locator("#timeline li.step")).to_have_count(4)  # issued, shipped, received, sold
    expect(consumer.locator("#timeline")).to_contain_text("Fresh Mart")


def test_a_forged_serial_is_an_unknown_code(site: TraceSite, issued: str, consumer: Page) -> None:
    forged = digital_link.build(site.stack.service.config.resolver, Gtin(GTIN), LOT, "7K2P9QXW4M1Z",
                                EXPIRY, scheme="http").uri()
    consumer.goto(forged)
    verdict(consumer, "unknown")
    expect(consumer.locator("#verdict")).to_contain_text("never issued")


def test_the_consumer_page_speaks_chinese_on_a_phone_sized_screen(site: TraceSite, labels: Labels,
                                                                 journey: list[str]) -> None:
    phone = site.consumer(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                          has_touch=True)
    try:
        phone.goto(f"{labels.decode(1)}&lang=zh")
        verdict(phone, "genuine")
        expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(phone.locator("#verdict h1")).to_have_text("正品")
        expect(phone.locator("#timeline")).to_contain_text("收货")
        proofs_all_verified(phone)
        expect(phone.locator("#proofs li").first).to_contain_text("已通过认证区块头验证")
        widths: Any = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[1] == 390 and widths[0] <= 390, widths
        phone.goto(f"/01/{GTIN}/10/{LOT}/21/{digital_link.parse(journey[1]).serial}")  # the choice is remembered
        expect(phone.locator("#verdict h1")).to_have_text("正品")
    finally:
        phone.context.close()

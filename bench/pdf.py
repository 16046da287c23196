"""Invoice PDFs per second: merge plus safe render, against WeasyPrint alone.

Renders the starter library's invoice (with a logo as a stored asset, the
letterhead, the running header and the "Page X of Y" footer) the way a
download does (sandboxed merge, asset pre-fetch, the fetcher that loads
nothing else, the watchdog time limit, the capped buffer): a one-page
invoice of 10 lines N times and a long invoice of 400 lines (15 pages) M times. In
the same run it measures the floor: plain WeasyPrint writing the same final
HTML, with no merge step. Merge data is built before timing (loading records
is not merging). The invoice's line table stays off WeasyPrint's slow paths
for long tables (Kozea/WeasyPrint#1104, #1296): ``table-layout: fixed`` with
a ``colgroup`` (no preferred-width pass over every cell), plain rows in one
``tbody`` with only ``break-inside: avoid`` per row (no unbreakable row
groups), no ``colspan``; time per page stays flat as pages are added.

Then the batch: a throw-away installation (PostgreSQL database, Redis db 15,
see ``campaign_env.py``) with B one-page invoices of 10 lines, exported as a
zip through the real queue by two real worker processes (``designer
worker``, one per core), timed from ``start_export`` until the zip is
packed. Printed: pages per second and the scaling, that rate over twice the
one-pager rate measured above (the ideal for two cores).

    python bench/pdf.py [--single 50] [--long 5] [--batch 200] [--sqlite]

Last line: ``RESULT single_ms=<n> long_ms=<n> overhead=<r> batch_pages_per_s=<n>
batch_scaling=<r>`` (medians per document; overhead is designer time over
WeasyPrint time for the one-pager).
"""

import argparse
import gc
import io
import statistics
import time
from datetime import date
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from types import SimpleNamespace

import weasyprint
from PIL import Image
from weasyprint.urls import URLFetcher, URLFetcherResponse

from designer.pdf import render_pdf
from designer.pdf.documents import merge_html
from designer.pdf.pictures import page_count
from designer.templating.compiler import compile_source
from designer.templating.render import build_context
from designer.templating.thumbnails import SAMPLE_LINES, _sample_line, sample_context

LIBRARY = Path(__file__).resolve().parents[1] / "templates_lib"
PUBLIC_URL = "https://designer.example"
LOGO_ID = 1
MARK = '<div class="mark">{{ company.name[:1] | upper }}</div>'
LOGO = f'<img class="mark" src="/assets/{LOGO_ID}/logo.png" alt="">'


def logo_png():
    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), (15, 118, 110)).save(buffer, format="PNG")
    return buffer.getvalue()


ASSETS = {LOGO_ID: (logo_png(), "image/png")}


def invoice_version():
    """The library invoice with its letter mark replaced by a stored logo image."""
    source = (LIBRARY / "pdf" / "invoice.html").read_text(encoding="utf-8")
    assert MARK in source, "the invoice template changed: update the bench"
    compiled = compile_source("html", source.replace(MARK, LOGO), "pdf")
    return SimpleNamespace(
        id=-2,
        compiled_html=compiled.html,
        text_template="",
        text_override="",
        subject="",
        preheader="",
        links=[],
    )


def invoice_context(lines):
    """Sample invoice merge data with ``lines`` one-row lines (no descriptions), Dutch, EUR."""
    data = sample_context("invoice")
    specs = cycle(SAMPLE_LINES)
    document = dict(data["document"], currency="EUR", notes="", subject="")
    document["lines"] = [_sample_line(position, *next(specs)) for position in range(1, lines + 1)]
    for line in document["lines"]:
        line["product"]["description"] = line["product"]["sku"] = ""
        line["name"] = line["description"] = f"Article {line['position']}"
    document["subtotal"] = sum((line["net"] for line in document["lines"]), Decimal(0))
    document["tax_total"] = sum((line["tax"] for line in document["lines"]), Decimal(0))
    document["total"] = document["subtotal"] + document["tax_total"]
    record = {
        "document": document,
        "invoice": document,
        "contact": data["contact"],
        "organisation": data["organisation"],
    }
    return build_context(
        record, sender=data["sender"], company=data["company"], locale="nl", currency="EUR"
    )


def render_designer(version, data):
    """One download's work: merge, then the safe render."""
    html = merge_html(version, data)
    return render_pdf(html, lookup=ASSETS.get, public_url=PUBLIC_URL)


class DictFetcher(URLFetcher):
    """The floor's fetcher: the logo from memory, nothing else."""

    def fetch(self, url, headers=None):
        data, content_type = ASSETS[LOGO_ID]
        return URLFetcherResponse(url, data, {"Content-Type": content_type})


def render_floor(html):
    """Plain WeasyPrint on the final HTML."""
    return weasyprint.HTML(
        string=html, base_url=PUBLIC_URL + "/", url_fetcher=DictFetcher()
    ).write_pdf()


def timed(function, *args):
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def median_ms(version, data, runs):
    """Median milliseconds of the designer and of the floor, and the page count.

    Runs alternate (after one warm-up of each) so that drift in the machine's
    speed, and garbage collections, hit both alike.
    """
    html = merge_html(version, data)
    pages = page_count(render_designer(version, data))
    render_floor(html)
    designer, floor = [], []
    for _ in range(runs):
        designer.append(timed(render_designer, version, data))
        floor.append(timed(render_floor, html))
    gc.collect()
    return statistics.median(designer) * 1000, statistics.median(floor) * 1000, pages


def batch_invoices(env, count):
    """``count`` one-page invoices of 10 lines, the library invoice PDF template with the
    stored logo, and the exporting user."""
    from designer import assets
    from designer.extensions import db
    from designer.records.models import Document, DocumentLine, Organisation, User
    from designer.templating import create_template

    user = User(name="Bea Bench", email="bea@bench.example", role="admin", language="nl")
    org = Organisation(name="Bakkerij Bench", city="Utrecht", language="nl", custom={})
    db.session.add_all([user, org])
    db.session.commit()
    logo = assets.store_asset("logo.png", "image/png", logo_png())
    source = (LIBRARY / "pdf" / "invoice.html").read_text(encoding="utf-8")
    source = source.replace(MARK, f'<img class="mark" src="/assets/{logo.id}/logo.png" alt="">')
    template = create_template(
        "Bench invoice",
        source,
        source_type="html",
        module="invoice",
        language="nl",
        kind="pdf",
        user=user,
    )
    ids = []
    for n in range(count):
        document = Document(
            kind="invoice",
            number=f"2026-{n + 1:04d}",
            organisation=org,
            owner=user,
            issue_date=date(2026, 11, 1),
            currency="EUR",
        )
        document.lines = [
            DocumentLine(
                position=i,
                description=f"Article {i}",
                quantity=Decimal(i),
                unit_price=Decimal("12.50"),
                tax_rate=Decimal(21),
            )
            for i in range(1, 11)
        ]
        db.session.add(document)
        db.session.flush()
        ids.append(document.id)
    db.session.commit()
    return user, template, ids


def run_batch(count, single_ms, options):
    """Pages per second of an export of ``count`` invoices by two workers, and the scaling."""
    from campaign_env import BenchEnv

    from designer.pdf import exports
    from designer.pdf.models import PdfExport

    with BenchEnv(**options) as env:
        env.open_app()
        user, template, ids = batch_invoices(env, count)
        for index in range(2):
            env.start_worker(index)
        env.wait_for_workers(2)
        started = time.perf_counter()
        export = exports.start_export(user, "invoice", ids, template_id=template.id)
        export = _wait_for(env, PdfExport, export.id)
        elapsed = time.perf_counter() - started
        if export.failed or export.rendered != count:
            raise RuntimeError(f"{export.failed} of {count} failed\n{env.logs()}")
        pages = _pages(export)
    rate = pages / elapsed
    ideal = 2 * 1000 / single_ms
    print(
        f"batch: {count} invoices, {pages} pages, 2 workers: {elapsed:.1f} s = "
        f"{rate:.1f} pages/s; ideal for two cores at {single_ms:.0f} ms a page: "
        f"{ideal:.1f} pages/s"
    )
    return rate, rate / ideal


def _wait_for(env, model, export_id, timeout=900):
    from designer.extensions import db

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        export = db.session.get(model, export_id)
        if export.state == "done":
            return export
        db.session.rollback()
        if any(child.poll() is not None for child in env.children):
            raise RuntimeError(f"a worker exited early\n{env.logs()}")
        time.sleep(0.05)
    raise RuntimeError(f"export not done after {timeout} s\n{env.logs()}")


def _pages(export):
    from designer.extensions import db
    from designer.pdf.models import PdfExportItem

    return int(
        db.session.scalar(
            db.select(db.func.sum(PdfExportItem.pages)).where(PdfExportItem.export_id == export.id)
        )
    )


def main(argv=None):
    from campaign_env import add_arguments, env_options

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=50, help="one-page renders")
    parser.add_argument("--long", type=int, default=5, help="400-line renders")
    parser.add_argument("--batch", type=int, default=200, help="invoices exported by the queue")
    add_arguments(parser)
    args = parser.parse_args(argv)
    version = invoice_version()
    single, long = invoice_context(10), invoice_context(400)
    designer_single, floor_single, pages = median_ms(version, single, args.single)
    print(
        f"{pages} page(s), 10 lines: designer {designer_single:.0f} ms, "
        f"WeasyPrint alone {floor_single:.0f} ms (median of {args.single})"
    )
    designer_long, floor_long, pages = median_ms(version, long, args.long)
    print(
        f"{pages} pages, 400 lines: designer {designer_long:.0f} ms, "
        f"WeasyPrint alone {floor_long:.0f} ms (median of {args.long})"
    )
    batch_rate, scaling = run_batch(args.batch, designer_single, env_options(args))
    print(
        f"RESULT single_ms={designer_single:.0f} long_ms={designer_long:.0f} "
        f"overhead={designer_single / floor_single:.2f} batch_pages_per_s={batch_rate:.1f} "
        f"batch_scaling={scaling:.2f}"
    )


if __name__ == "__main__":
    main()

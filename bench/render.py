"""Personalised MIME messages per second on one core, against the bare-Jinja floor.

Builds complete messages (subject, HTML and text parts, tracked links, open
pixel, 15+ merge fields, a ~35 KB compiled HTML body) for N recipients the
way the send path does, and in the same run measures the floor: plain
Jinja (no sandbox) rendering the same compiled HTML and text, plus base64 of
both. Merge data is built before timing (loading records is not merging).

    python bench/render.py [--n 20000]

Last line: ``RESULT messages_per_s=<n> ratio_to_floor=<r>``.
"""

import argparse
import base64
import time
from types import SimpleNamespace

from jinja2 import Environment

from designer.mail.links import LinkSigner
from designer.mail.mime import build_mime, new_message_id
from designer.mail.sender import Sender
from designer.templating.compiler import LINKS_VAR, compile_source
from designer.templating.render import VersionRenderer, build_context

SECTION = """
<mj-section background-color="#ffffff" padding="20px 0">
  <mj-column>
    <mj-image src="https://cdn.example.com/img/product-{i}.png" alt="Product {i}" width="560px" />
    <mj-text font-size="16px" line-height="1.6" color="#2d3748">
      <h2 style="margin:0 0 8px">{{{{ contact.first_name }}}}, article {i} is for {{{{ organisation.name }}}}</h2>
      Dear {{{{ contact.salutation }}}} {{{{ contact.last_name }}}}, as a {{{{ organisation.industry }}}}
      business in {{{{ organisation.city }}}} you will like what we have prepared. Lorem ipsum dolor
      sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore
      magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.
    </mj-text>
    <mj-button href="https://shop.example.com/article/{i}?utm_campaign=news" background-color="#2563eb">
      Read article {i}
    </mj-button>
  </mj-column>
</mj-section>
"""

TEMPLATE = """<mjml>
<mj-head><mj-title>{{ contact.first_name }}, the {{ company.name }} news</mj-title>
<mj-preview>News for {{ organisation.name }} in {{ organisation.city }}</mj-preview></mj-head>
<mj-body background-color="#f1f5f9">
<mj-section><mj-column><mj-text>
  {{ company.name }} · {{ company.address }} · {{ company.phone }}<br>
  To {{ contact.full_name }} &lt;{{ contact.email }}&gt;, {{ contact.title }} at {{ organisation.name }},
  {{ organisation.street }}, {{ organisation.postal_code }} {{ organisation.city }}, {{ organisation.country }}.
  Your contact: {{ sender.name }} ({{ sender.title }}), {{ sender.email }}, {{ sender.phone }}.
</mj-text></mj-column></mj-section>
__SECTIONS__
<mj-section><mj-column><mj-text font-size="12px">
  Sent by {{ company.name }}, {{ company.website }}.
  <a href="{{ unsubscribe_url }}">Unsubscribe</a>
</mj-text></mj-column></mj-section>
</mj-body></mjml>
"""


def build_version():
    sections = "".join(SECTION.format(i=i) for i in range(1, 11))
    compiled = compile_source("mjml", TEMPLATE.replace("__SECTIONS__", sections))
    return SimpleNamespace(
        id=-1,
        compiled_html=compiled.html,
        text_template=compiled.text,
        text_override="",
        subject="{{ contact.first_name }}, the {{ company.name }} news",
        preheader="News for {{ organisation.name }}",
        links=list(compiled.links),
    )


def recipients(n):
    company = {
        "name": "Northwind Relations BV",
        "address": "Keizersgracht 123, Amsterdam",
        "phone": "+31 20 555 0100",
        "website": "https://northwind.example",
    }
    sender = {
        "name": "Mark Marketer",
        "title": "Marketing",
        "email": "mark@northwind.example",
        "phone": "+31 20 555 0101",
    }
    people = []
    for i in range(n):
        org = {
            "name": f"Bakkerij {i}",
            "industry": "Retail",
            "city": "Utrecht",
            "street": f"Oudegracht {i}",
            "postal_code": "3511 AB",
            "country": "Netherlands",
        }
        contact = {
            "first_name": f"Jan{i}",
            "last_name": f"de Vries {i}",
            "salutation": "Mr",
            "full_name": f"Jan{i} de Vries {i}",
            "email": f"jan{i}@bakkerij.example",
            "title": "Owner",
            "organisation": org,
        }
        data = build_context(
            {"contact": contact, "organisation": org},
            sender=sender,
            company=company,
            locale="nl",
            currency="EUR",
        )
        data["unsubscribe_url"] = f"https://designer.example/u/token{i}"
        people.append(data)
    return people


def run_designer(version, people):
    renderer = VersionRenderer(version)
    signer = LinkSigner("bench-secret", "https://designer.example")
    sender = Sender(
        1, "Mark Marketer", "mark@northwind.example", "", "mark@northwind.example", "nl"
    )
    links = len(version.links)
    size = 0
    started = time.perf_counter()
    for i, data in enumerate(people):
        token = f"tok{i:029d}"
        rendered = renderer.render(
            data,
            tracked_links=signer.urls(token, links),
            pixel_url=f"https://designer.example/o/{token}.gif",
        )
        raw = build_mime(
            rendered,
            sender=sender,
            to_name=data["contact"]["full_name"],
            to_address=data["contact"]["email"],
            message_id=new_message_id(sender.address),
            eight_bit=True,
        )
        size += len(raw)
    return time.perf_counter() - started, size


def run_floor(version, people):
    """Plain Jinja renders the same HTML and text; base64 (one C call each) encodes them."""
    env = Environment(autoescape=True)
    html = env.from_string(version.compiled_html)
    text = Environment().from_string(version.text_template)
    urls = [link["url"] for link in version.links]
    started = time.perf_counter()
    for data in people:
        data = dict(data)
        data[LINKS_VAR] = urls
        base64.b64encode(html.render(data).encode())
        base64.b64encode(text.render(data).encode())
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args(argv)
    version = build_version()
    people = recipients(args.n)
    print(
        f"compiled HTML {len(version.compiled_html) / 1024:.1f} KB, "
        f"{len(version.links)} tracked links, {args.n} recipients"
    )
    run_designer(version, people[:200])  # warm-up: parse once, caches filled
    floor = run_floor(version, people)
    elapsed, size = run_designer(version, people)
    rate, floor_rate = args.n / elapsed, args.n / floor
    print(f"designer: {rate:,.0f} messages/s ({size / args.n / 1024:.1f} KB each)")
    print(f"floor (bare Jinja + base64): {floor_rate:,.0f} messages/s")
    print(f"RESULT messages_per_s={rate:.0f} ratio_to_floor={elapsed / floor:.2f}")


if __name__ == "__main__":
    main()

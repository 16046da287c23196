"""The demo data set: users, organisations, contacts, products, invoices and quotes.

``load_demo`` is idempotent: every record is looked up by its natural key
(``User.email``, ``Organisation.external_id``, ``Contact.external_id``,
``Product.sku``, ``Document`` kind and number) and only created when missing;
users, organisations, contacts and products are brought back to their demo
values, documents that already exist are left alone with their lines. All
generated values come from fixed lists and ``random.Random(2026)``, so every run
produces the same data. The starter e-mail templates of ``templates_lib/`` are
imported once, by name.
"""

import json
import random
from datetime import date, timedelta
from decimal import Decimal

from designer import settings
from designer.extensions import db
from designer.records.models import Contact, Document, DocumentLine, Organisation, Product, User

SEED = 2026

# email, name, role, title, phone, language, timezone, currency
USERS = (
    (
        "admin@example.com",
        "Ada Admin",
        "admin",
        "Customer Success Director",
        "+44 20 7946 0101",
        "en",
        "Europe/London",
        "GBP",
    ),
    (
        "marketer@example.com",
        "Mark Marketer",
        "marketer",
        "Marketingmanager",
        "+31 20 555 0142",
        "nl",
        "Europe/Amsterdam",
        "EUR",
    ),
    (
        "sabine.krueger@example.com",
        "Sabine Krüger",
        "marketer",
        "Vertriebsleiterin",
        "+49 30 5550 1187",
        "de",
        "Europe/Berlin",
        "EUR",
    ),
    (
        "liam.walsh@example.com",
        "Liam Walsh",
        "marketer",
        "Account Executive",
        "+353 1 555 0178",
        "en",
        "Europe/Dublin",
        "EUR",
    ),
)

# name, industry, domain, phone, street, postal code, city, country, language, owner
ORGANISATIONS = (
    (
        "Bakkerij De Vries",
        "Retail",
        "bakkerij-devries",
        "+31 20 555 0123",
        "Haarlemmerstraat 112",
        "1013 EW",
        "Amsterdam",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Van Dijk Logistiek B.V.",
        "Logistics",
        "vandijk-logistiek",
        "+31 10 555 0187",
        "Waalhaven Oostzijde 85",
        "3087 BM",
        "Rotterdam",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Zorggroep Eemland",
        "Healthcare",
        "zorggroep-eemland",
        "+31 33 555 0140",
        "Utrechtseweg 160",
        "3818 ES",
        "Amersfoort",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Hotel De Gouden Leeuw",
        "Hospitality",
        "hotel-goudenleeuw",
        "+31 30 555 0166",
        "Oudegracht 245",
        "3511 NV",
        "Utrecht",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Brouwer Metaaltechniek",
        "Manufacturing",
        "brouwer-metaal",
        "+31 40 555 0119",
        "Esp 310",
        "5633 AE",
        "Eindhoven",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Pixelwerk Software",
        "Software",
        "pixelwerk",
        "+31 50 555 0175",
        "Stationsplein 45",
        "9726 AE",
        "Groningen",
        "Netherlands",
        "nl",
        "admin",
    ),
    (
        "Tuincentrum Het Groene Hart",
        "Retail",
        "groenehart-tuin",
        "+31 172 555 012",
        "Zuidzijde 20",
        "2411 RS",
        "Bodegraven",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Jansen & Bos Accountants",
        "Financial Services",
        "jansenbos",
        "+31 70 555 0158",
        "Laan van Meerdervoort 52",
        "2517 AM",
        "Den Haag",
        "Netherlands",
        "nl",
        "marketer",
    ),
    (
        "Schneider Maschinenbau GmbH",
        "Manufacturing",
        "schneider-maschinenbau",
        "+49 711 5550 1200",
        "Industriestraße 14",
        "70565",
        "Stuttgart",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Bäckerei Hoffmann",
        "Retail",
        "baeckerei-hoffmann",
        "+49 89 5550 2231",
        "Sendlinger Straße 27",
        "80331",
        "München",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Nordlicht Logistik GmbH",
        "Logistics",
        "nordlicht-logistik",
        "+49 40 5550 3390",
        "Am Sandtorkai 38",
        "20457",
        "Hamburg",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Praxisklinik am Rhein",
        "Healthcare",
        "praxisklinik-rhein",
        "+49 211 5550 4410",
        "Rheinallee 9",
        "40549",
        "Düsseldorf",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Hotel Zum Goldenen Hirsch",
        "Hospitality",
        "goldener-hirsch",
        "+49 351 5550 1875",
        "Altmarkt 4",
        "01067",
        "Dresden",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Kaiser Softwarehaus AG",
        "Software",
        "kaiser-software",
        "+49 30 5550 7720",
        "Friedrichstraße 68",
        "10117",
        "Berlin",
        "Germany",
        "de",
        "admin",
    ),
    (
        "Weber Elektrotechnik",
        "Manufacturing",
        "weber-elektro",
        "+49 221 5550 6602",
        "Hansaring 61",
        "50670",
        "Köln",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Modehaus Lehmann",
        "Retail",
        "modehaus-lehmann",
        "+49 69 5550 9034",
        "Zeil 106",
        "60313",
        "Frankfurt am Main",
        "Germany",
        "de",
        "sabine",
    ),
    (
        "Harrington Engineering Ltd",
        "Manufacturing",
        "harrington-eng",
        "+44 161 496 0321",
        "42 Canal Street",
        "M1 3HE",
        "Manchester",
        "United Kingdom",
        "en",
        "admin",
    ),
    (
        "Bramble & Oak Home Stores",
        "Retail",
        "brambleandoak",
        "+44 113 496 0457",
        "18 Park Row",
        "LS1 5JA",
        "Leeds",
        "United Kingdom",
        "en",
        "admin",
    ),
    (
        "Thistle Freight Services",
        "Logistics",
        "thistle-freight",
        "+44 141 496 0789",
        "7 Anderston Quay",
        "G3 8BX",
        "Glasgow",
        "United Kingdom",
        "en",
        "liam",
    ),
    (
        "St Aidan's Medical Practice",
        "Healthcare",
        "staidans-medical",
        "+44 117 496 0612",
        "120 Gloucester Road",
        "BS7 8NL",
        "Bristol",
        "United Kingdom",
        "en",
        "admin",
    ),
    (
        "The Kingfisher Hotel",
        "Hospitality",
        "kingfisher-hotel",
        "+44 1904 496 025",
        "3 Castle Street",
        "YO1 9RN",
        "York",
        "United Kingdom",
        "en",
        "liam",
    ),
    (
        "Northbridge Software Ltd",
        "Software",
        "northbridge-software",
        "+44 20 7946 0834",
        "55 Shoreditch High Street",
        "E1 6JJ",
        "London",
        "United Kingdom",
        "en",
        "admin",
    ),
    (
        "Liffey Analytics",
        "Software",
        "liffey-analytics",
        "+353 1 555 0192",
        "10 Hanover Quay",
        "D02 K510",
        "Dublin",
        "Ireland",
        "en",
        "liam",
    ),
    (
        "O'Brien Hospitality Group",
        "Hospitality",
        "obrien-hospitality",
        "+353 21 555 0147",
        "23 Patrick Street",
        "T12 WK72",
        "Cork",
        "Ireland",
        "en",
        "liam",
    ),
)

# How many contacts each organisation gets, in order (3 to 6, 114 in all).
CONTACTS_PER_ORG = (5, 4, 6, 3, 5, 4, 6, 5) * 3

FIRST_NAMES = {
    "nl": (
        (
            "Jan",
            "Pieter",
            "Sander",
            "Daan",
            "Bram",
            "Ruben",
            "Thijs",
            "Joost",
            "Maarten",
            "Wouter",
            "Kees",
            "Lars",
        ),
        (
            "Anouk",
            "Sanne",
            "Femke",
            "Lotte",
            "Marieke",
            "Eva",
            "Inge",
            "Annelies",
            "Noor",
            "Esther",
            "Sophie",
            "Ilse",
        ),
    ),
    "de": (
        (
            "Thomas",
            "Michael",
            "Stefan",
            "Andreas",
            "Markus",
            "Jürgen",
            "Tobias",
            "Florian",
            "Lukas",
            "Matthias",
            "Frank",
            "Jonas",
        ),
        (
            "Anna",
            "Julia",
            "Katrin",
            "Sabine",
            "Claudia",
            "Laura",
            "Lena",
            "Miriam",
            "Stefanie",
            "Petra",
            "Nina",
            "Jana",
        ),
    ),
    "en": (
        (
            "James",
            "Oliver",
            "Thomas",
            "Daniel",
            "Matthew",
            "Liam",
            "Conor",
            "Callum",
            "Harry",
            "George",
            "Seán",
            "Patrick",
        ),
        (
            "Emma",
            "Charlotte",
            "Sophie",
            "Hannah",
            "Niamh",
            "Aoife",
            "Olivia",
            "Grace",
            "Lucy",
            "Chloe",
            "Siobhán",
            "Rachel",
        ),
    ),
}
LAST_NAMES = {
    "nl": (
        "de Vries",
        "Jansen",
        "van den Berg",
        "Bakker",
        "Visser",
        "Smit",
        "Meijer",
        "de Boer",
        "Mulder",
        "de Groot",
        "Bos",
        "Vos",
        "Peters",
        "Hendriks",
        "van Leeuwen",
        "Dekker",
        "Brouwer",
        "de Wit",
        "Dijkstra",
        "Smits",
        "van der Linden",
        "Kok",
        "Verhoeven",
        "Postma",
    ),
    "de": (
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Neumann",
        "Zimmermann",
        "Braun",
        "Krüger",
        "Hartmann",
        "Lange",
        "Werner",
        "Krause",
        "Köhler",
    ),
    "en": (
        "Smith",
        "Jones",
        "Taylor",
        "Brown",
        "Wilson",
        "Evans",
        "Roberts",
        "Walker",
        "Wright",
        "Murphy",
        "Kelly",
        "O'Sullivan",
        "Byrne",
        "Campbell",
        "Stewart",
        "Hughes",
        "Clarke",
        "Patel",
        "Khan",
        "Edwards",
        "Bennett",
        "Fitzgerald",
        "Doyle",
        "Harris",
    ),
}
SALUTATIONS = {"nl": ("Dhr.", "Mevr."), "de": ("Herr", "Frau"), "en": ("Mr", "Ms")}
TITLES = {
    "nl": (
        "Directeur",
        "Inkoper",
        "Marketingmanager",
        "Office manager",
        "Financieel administrateur",
        "Hoofd operations",
        "Communicatieadviseur",
    ),
    "de": (
        "Geschäftsführung",
        "Einkauf",
        "Marketingleitung",
        "Buchhaltung",
        "Vertrieb",
        "Assistenz der Geschäftsführung",
        "Leitung Kundenservice",
    ),
    "en": (
        "Managing Director",
        "Purchasing Manager",
        "Marketing Manager",
        "Office Manager",
        "Finance Manager",
        "Operations Manager",
        "Communications Lead",
    ),
}
MOBILE_FORMATS = {
    "nl": "+31 6 {a:04d} {b:04d}",
    "de": "+49 151 {a:04d} {b:04d}",
    "United Kingdom": "+44 7700 900{c:03d}",
    "Ireland": "+353 87 555 {a:04d}",
}
# A contact's language differs from the organisation's every so often (an expat).
EXPAT_LANGUAGE = {"nl": "en", "de": "en", "en": "de"}
EXPAT_EVERY = 16
ASCII_FOLD = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ß": "ss",
        "á": "a",
        "é": "e",
        "ó": "o",
        "í": "i",
        "'": "",
        " ": "",
        "&": "",
    }
)

# sku, name, description, unit price, tax rate, quantities offered
PRODUCTS = (
    (
        "DSG-PRO-1Y",
        "Designer Pro licence (12 months)",
        "Annual licence for the campaign designer, including updates.",
        "1200.00",
        21,
        (1, 1, 2),
    ),
    (
        "DSG-SEAT",
        "Additional user seat (12 months)",
        "One extra named user for a year.",
        "180.00",
        21,
        (1, 2, 3, 5, 10),
    ),
    (
        "SRV-ONBOARD",
        "Onboarding workshop (1 day)",
        "On-site workshop for up to 8 participants.",
        "950.00",
        19,
        (1, 1, 2),
    ),
    (
        "SRV-TEMPLATE",
        "Template design package",
        "Three responsive e-mail templates in your house style.",
        "650.00",
        20,
        (1, 2),
    ),
    (
        "SRV-MIGRATE",
        "Data migration",
        "Import of contacts, organisations and products from your old system.",
        "1450.00",
        19,
        (1,),
    ),
    (
        "SUP-PREMIUM",
        "Premium support (12 months)",
        "Priority support with a four-hour response time on working days.",
        "2400.00",
        20,
        (1,),
    ),
    (
        "TRN-ONLINE",
        "Online training seat",
        "Half-day live online course for one participant.",
        "240.00",
        9,
        (1, 2, 4, 6),
    ),
    (
        "TRN-HANDBOOK",
        "Handbook: Campaign e-mail that works",
        "Printed handbook, 212 pages.",
        "34.50",
        9,
        (1, 5, 10, 20),
    ),
    (
        "PRT-BROCHURE",
        "Printed brochures (500)",
        "A4 folded brochures, full colour, 170 g/m².",
        "420.00",
        21,
        (1, 2, 4),
    ),
    (
        "PRT-CARDS",
        "Business cards (250)",
        "Double-sided business cards, 350 g/m².",
        "59.00",
        19,
        (1, 2, 3, 6),
    ),
    (
        "EVT-TICKET",
        "Customer Day ticket",
        "Admission to the Customer Day including lunch.",
        "395.00",
        7,
        (1, 2, 3, 4),
    ),
    (
        "CNS-HOUR",
        "Consultancy (per hour)",
        "Campaign strategy and CRM consultancy.",
        "125.00",
        19,
        ("2.5", "4", "8", "12.5", "16"),
    ),
    (
        "HST-SENDIP",
        "Dedicated sending IP (monthly)",
        "A dedicated IP address for your campaign mail.",
        "89.00",
        20,
        (1, 3, 6, 12),
    ),
    (
        "MAG-SUB",
        "Trade magazine subscription",
        "Twelve issues of Customer Communication Today.",
        "79.00",
        7,
        (1, 2, 5),
    ),
)

INVOICE_COUNT = 32
QUOTE_COUNT = 12
SUBJECTS = (
    "Licence renewal 2026",
    "Onboarding and template design",
    "Spring campaign materials",
    "Support contract",
    "Data migration project",
    "Team training",
    "Customer Day tickets",
    "Additional user seats",
    "Autumn newsletter set-up",
    "Consultancy hours",
    "Printed materials for the trade fair",
    "Sending infrastructure",
)
NOTES = {
    ("invoice", "nl"): "Graag betaling binnen 30 dagen onder vermelding van het factuurnummer.",
    ("invoice", "de"): "Bitte überweisen Sie den Betrag innerhalb von 30 Tagen.",
    ("invoice", "en"): "Please pay within 30 days, quoting the invoice number.",
    ("quote", "nl"): "Deze offerte is 30 dagen geldig.",
    ("quote", "de"): "Dieses Angebot ist 30 Tage gültig.",
    ("quote", "en"): "This quote is valid for 30 days.",
}


DEMO_COMPANY = {
    "name": "Northwind Relations BV",
    "address": "Keizersgracht 123, 1015 CJ Amsterdam, Netherlands",
    "email": "hello@northwind.example",
    "phone": "+31 20 555 0100",
    "website": "https://northwind.example",
    "vat_number": "NL001234567B01",
}


def load_demo():
    """Load the demo data set (idempotent) and return how many of each kind it holds."""
    from designer import ROOT

    rng = random.Random(SEED)
    users = _load_users()
    organisations = _load_organisations(users)
    contacts = _load_contacts(organisations, rng)
    products = _load_products()
    documents = _load_documents(organisations, contacts, products, rng)
    db.session.commit()
    templates = _import_templates(ROOT / "templates_lib", users["admin@example.com"])
    if not settings.company()["name"]:
        settings.set_company(DEMO_COMPANY)
    return {
        "users": len(users),
        "organisations": len(organisations),
        "contacts": len(contacts),
        "products": len(products),
        "invoices": sum(kind == "invoice" for kind, _ in documents),
        "quotes": sum(kind == "quote" for kind, _ in documents),
        "templates": templates,
    }


def _upsert(model, key, specs):
    """Create or update one row per spec, found by ``key``; return ``{key: (row, created)}``."""
    column = getattr(model, key)
    keys = [spec[key] for spec in specs]
    existing = {
        getattr(row, key): row
        for row in db.session.scalars(db.select(model).where(column.in_(keys)))
    }
    rows = {}
    for spec in specs:
        row = existing.get(spec[key])
        created = row is None
        if created:
            row = model()
            db.session.add(row)
        for name, value in spec.items():
            setattr(row, name, value)
        rows[spec[key]] = (row, created)
    return rows


def _load_users():
    """The admin and three marketers; passwords are only set on creation, marked as the
    demo password (see ``User.demo_password``)."""
    specs = [
        dict(
            email=email,
            name=name,
            role=role,
            title=title,
            phone=phone,
            language=language,
            timezone=timezone,
            currency=currency,
            date_format="medium",
        )
        for email, name, role, title, phone, language, timezone, currency in USERS
    ]
    users = {}
    for email, (user, created) in _upsert(User, "email", specs).items():
        if created:
            user.set_password("demo")
            user.demo_password = True
        users[email] = user
    return users


def _owner(users, handle):
    by_handle = {
        "admin": "admin@example.com",
        "marketer": "marketer@example.com",
        "sabine": "sabine.krueger@example.com",
        "liam": "liam.walsh@example.com",
    }
    return users[by_handle[handle]]


#: Where the demo organisations are, for date-based workflows ("at 09:00 their time").
TIMEZONES = {
    "Netherlands": "Europe/Amsterdam",
    "Germany": "Europe/Berlin",
    "Ireland": "Europe/Dublin",
    "United Kingdom": "Europe/London",
}


def _load_organisations(users):
    """The 24 demo organisations, keyed by external id."""
    specs = []
    for number, org in enumerate(ORGANISATIONS, start=1):
        name, industry, domain, phone, street, postal, city, country, language, owner = org
        specs.append(
            dict(
                external_id=f"demo-org-{number:02d}",
                name=name,
                industry=industry,
                email=f"{'hello' if language == 'en' else 'info'}@{domain}.example",
                phone=phone,
                website=f"https://www.{domain}.example",
                street=street,
                postal_code=postal,
                city=city,
                country=country,
                language=language,
                timezone=TIMEZONES[country],
                owner=_owner(users, owner),
            )
        )
    rows = _upsert(Organisation, "external_id", specs)
    return {key: row for key, (row, _) in rows.items()}


def _load_contacts(organisations, rng):
    """Three to six contacts per organisation, keyed by external id."""
    specs = []
    for org, count in zip(organisations.values(), CONTACTS_PER_ORG, strict=True):
        specs.extend(_contact_specs(org, count, len(specs), rng))
    rows = _upsert(Contact, "external_id", specs)
    return {key: row for key, (row, _) in rows.items()}


def _contact_specs(org, count, offset, rng):
    """Generated people at ``org``; the first one runs the place."""
    used, specs = set(), []
    for index in range(count):
        number = offset + index + 1
        language = EXPAT_LANGUAGE[org.language] if number % EXPAT_EVERY == 0 else org.language
        female = rng.random() < 0.5
        first = rng.choice(FIRST_NAMES[language][female])
        last = rng.choice(LAST_NAMES[language])
        specs.append(
            dict(
                external_id=f"demo-contact-{number:03d}",
                organisation=org,
                salutation=SALUTATIONS[language][female],
                first_name=first,
                last_name=last,
                email=_unique_email(first, last, org.website, used),
                phone=_mobile(org, rng),
                language=language,
                title=TITLES[language][0] if index == 0 else rng.choice(TITLES[language][1:]),
                birthday=_birthday(rng),
                tags=_tags(number, index),
            )
        )
    return specs


def _tags(number, index):
    """A few audience labels, from the contact's number (no random draw: data stay stable)."""
    tags = ["decision-maker"] if index == 0 else []
    if number % 2 == 0:
        tags.append("newsletter")
    if number % 7 == 0:
        tags.append("vip")
    return ",".join(tags)


def _unique_email(first, last, website, used):
    """``first.last@domain``, with a number added when the address is taken."""
    domain = website.removeprefix("https://www.")
    local = f"{first}.{last}".lower().translate(ASCII_FOLD)
    candidate, suffix = local, 2
    while candidate in used:
        candidate, suffix = f"{local}{suffix}", suffix + 1
    used.add(candidate)
    return f"{candidate}@{domain}"


def _mobile(org, rng):
    pattern = MOBILE_FORMATS.get(org.country) or MOBILE_FORMATS[org.language]
    return pattern.format(a=rng.randint(1000, 9999), b=rng.randint(0, 9999), c=rng.randint(0, 999))


def _birthday(rng):
    """Roughly two in five contacts told us their birthday."""
    if rng.random() >= 0.4:
        return None
    return date(rng.randint(1962, 1999), rng.randint(1, 12), rng.randint(1, 28))


def _load_products():
    """The product list, keyed by SKU."""
    specs = [
        dict(
            sku=sku,
            name=name,
            description=description,
            unit_price=Decimal(price),
            tax_rate=Decimal(tax),
        )
        for sku, name, description, price, tax, _ in PRODUCTS
    ]
    rows = _upsert(Product, "sku", specs)
    return {key: row for key, (row, _) in rows.items()}


def _load_documents(organisations, contacts, products, rng):
    """Invoices and quotes; existing ones (by kind and number) are left alone."""
    specs = _document_specs(
        "invoice", INVOICE_COUNT, organisations, contacts, rng
    ) + _document_specs("quote", QUOTE_COUNT, organisations, contacts, rng)
    for spec in specs:
        spec["lines"] = _line_specs(products, rng)
    numbers = [spec["number"] for spec in specs]
    existing = set(
        db.session.execute(
            db.select(Document.kind, Document.number).where(Document.number.in_(numbers))
        ).all()
    )
    for spec in specs:
        if (spec["kind"], spec["number"]) not in existing:
            db.session.add(_build_document(spec))
    return [(spec["kind"], spec["number"]) for spec in specs]


def _document_specs(kind, count, organisations, contacts, rng):
    """``count`` documents of ``kind``, numbered in date order through 2026."""
    by_org = {}
    for contact in contacts.values():
        by_org.setdefault(contact.organisation.external_id, []).append(contact)
    orgs = list(organisations.values())
    dates = sorted(date(2026, 1, 5) + timedelta(days=rng.randint(0, 320)) for _ in range(count))
    prefix = "INV" if kind == "invoice" else "QUO"
    specs = []
    for index, issued in enumerate(dates):
        org = rng.choice(orgs)
        specs.append(
            dict(
                kind=kind,
                number=f"{prefix}-2026-{index + 1:04d}",
                subject=rng.choice(SUBJECTS),
                status=_status(kind, index / count, rng),
                organisation=org,
                contact=rng.choice(by_org[org.external_id]),
                owner=org.owner,
                issue_date=issued,
                due_date=issued + timedelta(days=30),
                currency="GBP" if org.country == "United Kingdom" else "EUR",
                notes=NOTES[(kind, org.language)],
            )
        )
    return specs


def _status(kind, progress, rng):
    """Older documents are settled, recent ones still open; the newest are drafts."""
    if progress >= 0.85:
        return "draft"
    if kind == "quote":
        return rng.choice(("accepted", "accepted", "sent") if progress < 0.5 else ("sent",))
    if progress < 0.6:
        return rng.choice(("paid", "paid", "paid", "paid", "paid", "overdue"))
    return rng.choice(("sent", "sent", "sent", "overdue", "paid"))


def _line_specs(products, rng):
    """One to twelve lines, each a different product at its list price."""
    count = min(rng.randint(1, 6) + rng.randint(0, 6), 12)
    chosen = rng.sample(PRODUCTS, count)
    lines = []
    for position, (sku, name, _, _, _, quantities) in enumerate(chosen, start=1):
        product = products[sku]
        discount = rng.choice((5, 10)) if rng.random() < 0.2 else 0
        lines.append(
            dict(
                position=position,
                product=product,
                description=name,
                quantity=Decimal(str(rng.choice(quantities))),
                unit_price=product.unit_price,
                discount_percent=Decimal(discount),
                tax_rate=product.tax_rate,
            )
        )
    return lines


def _build_document(spec):
    spec = dict(spec)
    lines = [DocumentLine(**line) for line in spec.pop("lines")]
    return Document(lines=lines, **spec)


def _import_templates(library, user):
    """Create each e-mail and PDF template of the library once (by name); return how many.

    Every manifest entry names its file, kind (``email``/``pdf``), source type
    (``mjml``/``html``), module and, for e-mails, a subject template and a purpose
    (``marketing`` unless it says ``transactional``).
    """
    from designer.templating import Template
    from designer.templating.starters import create_from_starter

    manifest = library / "manifest.json"
    if not manifest.is_file():
        return 0
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in entries:
        if not _template_exists(Template, entry["name"]):
            create_from_starter(entry, user=user, library=library)
    return len(entries)


def _template_exists(template_model, name):
    query = db.select(template_model.id).where(template_model.name == name).limit(1)
    return db.session.scalar(query) is not None

"""Label dictionaries: fixed wording of a template kept per language beside its source.

A migrated vtiger template writes its captions as labels (``%G_Qty%``,
``%M_Invoice No%``, ``{vtranslate("LBL_INVOICE")}``); each becomes
``{{ labels["Qty"] }}`` and the template keeps ``{"en": {"Qty": "Quantity"},
"de": {"Qty": "Menge"}}`` in ``Template.labels``. A render picks the
recipient's language (``de-AT`` reads ``de``), then the template's, then
English; a key missing there is looked up in the other languages, and a key
found nowhere prints as itself, so a label never breaks a merge.
"""

import json

from flask_babel import gettext as _

#: Largest label dictionary accepted from the editor (characters of JSON).
MAX_LABELS_JSON = 200_000
#: Most languages and keys a dictionary may hold.
MAX_LANGUAGES = 40
MAX_KEYS = 2_000
MAX_TEXT = 2_000

#: Our own wording of vtiger's common captions, in the languages most users read.
KNOWN = {
    "Qty": {"en": "Qty", "de": "Menge", "nl": "Aantal", "fr": "Qté"},
    "Quantity": {"en": "Quantity", "de": "Menge", "nl": "Aantal", "fr": "Quantité"},
    "Subtotal": {"en": "Subtotal", "de": "Zwischensumme", "nl": "Subtotaal", "fr": "Sous-total"},
    "Sub Total": {"en": "Subtotal", "de": "Zwischensumme", "nl": "Subtotaal", "fr": "Sous-total"},
    "Discount": {"en": "Discount", "de": "Rabatt", "nl": "Korting", "fr": "Remise"},
    "Tax": {"en": "Tax", "de": "Steuer", "nl": "Btw", "fr": "TVA"},
    "Total": {"en": "Total", "de": "Gesamt", "nl": "Totaal", "fr": "Total"},
    "Grand Total": {"en": "Grand total", "de": "Gesamtbetrag", "nl": "Totaal", "fr": "Total"},
    "Adjustment": {"en": "Adjustment", "de": "Korrektur", "nl": "Correctie", "fr": "Ajustement"},
    "Invoice": {"en": "Invoice", "de": "Rechnung", "nl": "Factuur", "fr": "Facture"},
    "Invoice No": {
        "en": "Invoice no.",
        "de": "Rechnungsnr.",
        "nl": "Factuurnr.",
        "fr": "N° facture",
    },
    "Quote": {"en": "Quote", "de": "Angebot", "nl": "Offerte", "fr": "Devis"},
    "Quote No": {"en": "Quote no.", "de": "Angebotsnr.", "nl": "Offertenr.", "fr": "N° devis"},
    "SalesOrder No": {
        "en": "Order no.",
        "de": "Auftragsnr.",
        "nl": "Ordernr.",
        "fr": "N° commande",
    },
    "SO Number": {"en": "Order no.", "de": "Auftragsnr.", "nl": "Ordernr.", "fr": "N° commande"},
    "Sales Order": {"en": "Sales order", "de": "Auftrag", "nl": "Order", "fr": "Commande"},
    "Purchase Order": {
        "en": "Purchase order",
        "de": "Bestellung",
        "nl": "Inkooporder",
        "fr": "Bon de commande",
    },
    "Invoice Date": {
        "en": "Invoice date",
        "de": "Rechnungsdatum",
        "nl": "Factuurdatum",
        "fr": "Date de facture",
    },
    "Due Date": {"en": "Due date", "de": "Fällig am", "nl": "Vervaldatum", "fr": "Échéance"},
    "Valid Till": {
        "en": "Valid until",
        "de": "Gültig bis",
        "nl": "Geldig tot",
        "fr": "Valable jusqu'au",
    },
    "Product Name": {"en": "Product", "de": "Produkt", "nl": "Product", "fr": "Produit"},
    "List Price": {
        "en": "Unit price",
        "de": "Einzelpreis",
        "nl": "Stukprijs",
        "fr": "Prix unitaire",
    },
    "LBL_LIST_PRICE": {
        "en": "Unit price",
        "de": "Einzelpreis",
        "nl": "Stukprijs",
        "fr": "Prix unitaire",
    },
    "LBL_NET_PRICE": {"en": "Net price", "de": "Nettopreis", "nl": "Nettoprijs", "fr": "Prix net"},
    "LBL_GRAND_TOTAL": {"en": "Grand total", "de": "Gesamtbetrag", "nl": "Totaal", "fr": "Total"},
    "LBL_LIST_OF": {"en": "of", "de": "von", "nl": "van", "fr": "de"},
    "LBL_SHIPPING_AND_HANDLING_CHARGES": {
        "en": "Shipping and handling",
        "de": "Versand und Verpackung",
        "nl": "Verzendkosten",
        "fr": "Frais de port",
    },
    "LBL_TAX_FOR_SHIPPING_AND_HANDLING": {
        "en": "Tax on shipping and handling",
        "de": "Steuer auf Versand",
        "nl": "Btw op verzendkosten",
        "fr": "TVA sur frais de port",
    },
    "LBL_INVOICE": {"en": "Invoice", "de": "Rechnung", "nl": "Factuur", "fr": "Facture"},
    "LBL_QUOTE": {"en": "Quote", "de": "Angebot", "nl": "Offerte", "fr": "Devis"},
    "LBL_SALES_ORDER": {"en": "Sales order", "de": "Auftrag", "nl": "Order", "fr": "Commande"},
    "LBL_PURCHASE_ORDER": {
        "en": "Purchase order",
        "de": "Bestellung",
        "nl": "Inkooporder",
        "fr": "Bon de commande",
    },
    "LBL_BILLING_ADDRESS": {
        "en": "Billing address",
        "de": "Rechnungsadresse",
        "nl": "Factuuradres",
        "fr": "Adresse de facturation",
    },
    "LBL_SHIPPING_ADDRESS": {
        "en": "Shipping address",
        "de": "Lieferadresse",
        "nl": "Afleveradres",
        "fr": "Adresse de livraison",
    },
    "LBL_DESCRIPTION": {
        "en": "Description",
        "de": "Beschreibung",
        "nl": "Omschrijving",
        "fr": "Description",
    },
    "LBL_TERMS_AND_CONDITIONS": {
        "en": "Terms and conditions",
        "de": "Geschäftsbedingungen",
        "nl": "Voorwaarden",
        "fr": "Conditions générales",
    },
    "Phone": {"en": "Phone", "de": "Telefon", "nl": "Telefoon", "fr": "Téléphone"},
    "Fax": {"en": "Fax", "de": "Fax", "nl": "Fax", "fr": "Fax"},
    "Website": {"en": "Website", "de": "Website", "nl": "Website", "fr": "Site web"},
    "Email": {"en": "E-mail", "de": "E-Mail", "nl": "E-mail", "fr": "E-mail"},
    "Address": {"en": "Address", "de": "Adresse", "nl": "Adres", "fr": "Adresse"},
    "Page": {"en": "Page", "de": "Seite", "nl": "Pagina", "fr": "Page"},
}
#: Languages the known captions are written in.
KNOWN_LANGUAGES = ("en", "de", "nl", "fr")


class LabelsInvalid(ValueError):
    """An edited label dictionary is not usable (the message says why)."""


class LabelDict(dict):
    """The labels of one language; a key it lacks prints as itself."""

    def __missing__(self, key):
        return str(key)


def default_texts(key):
    """``{language: text}`` for a label key: our wording when we know the caption,
    else the key itself made readable (``LBL_NET_PRICE`` → ``Net price``)."""
    known = KNOWN.get(key) or KNOWN.get(key.strip())
    if known:
        return dict(known)
    words = key[4:] if key.upper().startswith("LBL_") else key
    words = words.replace("_", " ").strip()
    if words.isupper() or words.islower():
        words = words.lower().capitalize()
    return {"en": words or key}


def dictionary_for(keys, languages=KNOWN_LANGUAGES):
    """A template's label dictionary holding ``keys`` in each of ``languages`` that has text."""
    result = {}
    for key in keys:
        for language, text in default_texts(key).items():
            if language in languages or language == "en":
                result.setdefault(language, {})[key] = text
    return result


def labels_for(labels, locale, template_language="en"):
    """The ``LabelDict`` a render in ``locale`` uses."""
    labels = labels or {}
    order = []
    for tag in (locale, template_language, "en"):
        language = (tag or "").replace("_", "-").split("-")[0].lower()
        if language and language not in order:
            order.append(language)
    order += [language for language in labels if language not in order]
    merged = LabelDict()
    for language in reversed(order):
        merged.update(labels.get(language) or {})
    return merged


def parse_labels(text):
    """A label dictionary from the editor's JSON; ``LabelsInvalid`` says what is wrong."""
    if len(text or "") > MAX_LABELS_JSON:
        raise LabelsInvalid(
            _("the labels are longer than %(max)s characters", max=f"{MAX_LABELS_JSON:,}")
        )
    try:
        data = json.loads(text or "{}")
    except (ValueError, RecursionError) as exc:
        raise LabelsInvalid(_("the labels are not valid JSON: %(error)s", error=exc)) from None
    return validate_labels(data)


def validate_labels(data):
    """``data`` checked as ``{language: {key: text}}`` (texts as strings, sizes bounded)."""
    if not isinstance(data, dict):
        raise LabelsInvalid(_('the labels must be an object such as {"en": {"Qty": "Quantity"}}'))
    if len(data) > MAX_LANGUAGES:
        raise LabelsInvalid(_("at most %(max)s languages", max=MAX_LANGUAGES))
    clean = {}
    for language, texts in data.items():
        code = str(language).strip().lower()
        if not code or len(code) > 10 or not code.replace("-", "").isalnum():
            raise LabelsInvalid(
                _(
                    "“%(code)s” is not a language code such as en or de",
                    code=str(language)[:20],
                )
            )
        if not isinstance(texts, dict):
            raise LabelsInvalid(
                _("the labels of %(code)s must be an object of key: text", code=code)
            )
        if len(texts) > MAX_KEYS:
            raise LabelsInvalid(_("at most %(max)s labels per language", max=MAX_KEYS))
        clean[code] = {}
        for key, text in texts.items():
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                raise LabelsInvalid(
                    _(
                        "the label %(key)s of %(code)s must be text",
                        key=str(key)[:40],
                        code=code,
                    )
                )
            if len(str(key)) > 200 or len(str(text)) > MAX_TEXT:
                raise LabelsInvalid(
                    _(
                        "the label %(key)s of %(code)s is too long",
                        key=str(key)[:40],
                        code=code,
                    )
                )
            clean[code][str(key)] = str(text)
    return clean

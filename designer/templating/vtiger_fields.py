"""vtiger variables → our merge fields: which record a ``$…$`` names and which field of it.

vtiger and ITS4You's EMAIL Maker / PDF Maker write the same field in several
forms (read from their content models):

* PDF Maker, upper case: ``$INVOICE_INVOICE_NO$`` (the record), ``$R_ACCOUNTS_ACCOUNTNAME$``
  or ``$R_ACCOUNT_ID_ACCOUNTNAME$`` (a related record, by module or by reference
  field), ``$USERS_FIRST_NAME$`` (the assigned user), ``$R_USERS_…$`` (the user
  making the PDF), ``$USER_FIRSTNAME$`` / ``$L_USER_…$`` / ``$M_USER_…$`` /
  ``$C_USER_…$`` (assigned, logged-in, modifying, creating user),
  ``$COMPANY_NAME$`` and the totals (``$TOTAL$``, ``$VAT$`` …);
* EMAIL Maker, lower case: ``$contacts-firstname$`` (the recipient), ``$s-invoice-invoice_no$``
  or ``$s-invoice_no$`` (the source record), ``$r-accounts-accountname$`` and
  ``$r-account_id-accounts-accountname$`` (related), ``$s-user_firstname$``,
  ``$l-users-first_name$``, ``$m-…$``, ``$c-…$`` (users), ``$company-name$``;
* vtiger core: ``$contacts-firstname$``, ``$invoice-account_id:accountname$``,
  ``$companydetails-organizationname$``, ``$custom-currentdate$``.

``resolve`` answers with a Jinja expression over the merge data of the
template's module (``records.merge``) or with the reason there is none.
"""

from typing import NamedTuple

DOCUMENT_MODULES = ("invoice", "quote")
#: vtiger module (lower case) → the kind of record it is here.
ENTITIES = {
    "contacts": "contact",
    "leads": "contact",
    "accounts": "organisation",
    "invoice": "document",
    "quotes": "document",
    "salesorder": "document",
    "purchaseorder": "document",
    "users": "user",
    "products": "product",
    "services": "product",
}
#: vtiger modules whose records Designer does not keep.
ABSENT_MODULES = {
    "vendors": "vendors",
    "potentials": "opportunities",
    "helpdesk": "tickets",
    "project": "projects",
    "projecttask": "project tasks",
    "campaigns": "vtiger campaigns",
    "assets": "assets",
    "events": "events",
    "calendar": "calendar entries",
    "pricebooks": "price books",
    "faq": "FAQ entries",
    "servicecontracts": "service contracts",
}
KNOWN_MODULES = {*ENTITIES, *ABSENT_MODULES}
#: vtiger module → our module of a template made for it.
MODULES = {
    "contacts": "contact",
    "leads": "contact",
    "accounts": "organisation",
    "invoice": "invoice",
    "quotes": "quote",
    "salesorder": "invoice",
    "purchaseorder": "invoice",
    "users": "user",
    "products": "product",
    "services": "product",
}
#: Reference fields (vtiger column names) → the module they point to.
REFERENCES = {
    "account_id": "accounts",
    "accountid": "accounts",
    "parent_id": "accounts",
    "contact_id": "contacts",
    "contactid": "contacts",
    "assigned_user_id": "users",
    "smownerid": "users",
    "vendor_id": "vendors",
    "potential_id": "potentials",
    "quote_id": "quotes",
    "salesorder_id": "salesorder",
    "product_id": "products",
    "productid": "products",
}

NAME_NOTE = "we keep one name per user, so first and last name both became the full name"


class Field(NamedTuple):
    """Where a vtiger field is in our data: ``entity`` and ``attr``, or ``reason`` why not."""

    entity: str | None = None
    attr: str | None = None
    type: str = "text"
    note: str = ""
    reason: str = ""


def on(entity, attr, type="text", note=""):
    return Field(entity, attr, type, note)


def absent(reason):
    return Field(reason=reason)


_NO_NUMBER = absent("Designer keeps no record numbers of contacts and organisations")
_NO_STATE = absent("Designer keeps no state or region in addresses")
_SHIP = "we keep one address, so the shipping address is the organisation's address"
_OWN = "contacts have no address of their own here: the organisation's address"

CONTACT = {
    "firstname": on("contact", "first_name"),
    "lastname": on("contact", "last_name"),
    "salutationtype": on("contact", "salutation"),
    "salutation": on("contact", "salutation"),
    "email": on("contact", "email"),
    "phone": on("contact", "phone"),
    "mobile": on("contact", "phone", note="we keep one phone number: mobile became phone"),
    "title": on("contact", "title"),
    "birthday": on("contact", "birthday", "date"),
    "account_id": on("organisation", "name"),
    "company": on("organisation", "name"),
    "assigned_user_id": on("owner", "name"),
    "contact_no": _NO_NUMBER,
    "lead_no": _NO_NUMBER,
    "mailingstreet": on("organisation", "street", note=_OWN),
    "mailingcity": on("organisation", "city", note=_OWN),
    "mailingzip": on("organisation", "postal_code", note=_OWN),
    "mailingcountry": on("organisation", "country", note=_OWN),
    "mailingstate": _NO_STATE,
}
ORGANISATION = {
    "accountname": on("organisation", "name"),
    "account_name": on("organisation", "name"),
    "email1": on("organisation", "email"),
    "email": on("organisation", "email"),
    "phone": on("organisation", "phone"),
    "website": on("organisation", "website"),
    "industry": on("organisation", "industry"),
    "bill_street": on("organisation", "street"),
    "bill_city": on("organisation", "city"),
    "bill_code": on("organisation", "postal_code"),
    "bill_country": on("organisation", "country"),
    "bill_state": _NO_STATE,
    "ship_street": on("organisation", "street", note=_SHIP),
    "ship_city": on("organisation", "city", note=_SHIP),
    "ship_code": on("organisation", "postal_code", note=_SHIP),
    "ship_country": on("organisation", "country", note=_SHIP),
    "ship_state": _NO_STATE,
    "assigned_user_id": on("owner", "name"),
    "account_no": _NO_NUMBER,
}
_ADDRESS = {name: field for name, field in ORGANISATION.items() if name[:5] in ("bill_", "ship_")}
DOCUMENT = {
    **_ADDRESS,
    "subject": on("document", "subject"),
    "invoice_no": on("document", "number"),
    "quote_no": on("document", "number"),
    "salesorder_no": on("document", "number"),
    "purchaseorder_no": on("document", "number"),
    "invoicedate": on("document", "issue_date", "date"),
    "quotedate": on("document", "issue_date", "date"),
    "duedate": on("document", "due_date", "date"),
    "validtill": on("document", "due_date", "date", "a quote's valid-until date is its due date"),
    "invoicestatus": on("document", "status"),
    "quotestage": on("document", "status"),
    "sostatus": on("document", "status"),
    "postatus": on("document", "status"),
    "account_id": on("organisation", "name"),
    "contact_id": on("contact", "full_name"),
    "hdngrandtotal": on("document", "total", "money"),
    "grand_total": on("document", "total", "money"),
    "total": on("document", "total", "money"),
    "hdnsubtotal": on("document", "subtotal", "money"),
    "subtotal": on("document", "subtotal", "money"),
    "pre_tax_total": on("document", "subtotal", "money"),
    "hdntaxamount": on("document", "tax_total", "money"),
    "tax_totalamount": on("document", "tax_total", "money"),
    "tax_amount": on("document", "tax_total", "money"),
    "currency_id": on("document", "currency"),
    "terms_conditions": on("document", "notes"),
    "description": on("document", "notes", note="description and notes are one field here"),
    "assigned_user_id": on("owner", "name"),
    "vendor_id": absent("Designer keeps no vendors"),
    "potential_id": absent("Designer keeps no opportunities"),
    "customerno": absent("Designer keeps no customer numbers on documents"),
    "txtadjustment": on(None, "0", "money", "our documents have no adjustment: always 0"),
    "adjustment": on(None, "0", "money", "our documents have no adjustment: always 0"),
}
USER = {
    "first_name": on("user", "name", note=NAME_NOTE),
    "last_name": on("user", "name", note=NAME_NOTE),
    "firstname": on("user", "name", note=NAME_NOTE),
    "lastname": on("user", "name", note=NAME_NOTE),
    "email1": on("user", "email"),
    "email": on("user", "email"),
    "title": on("user", "title"),
    "phone_work": on("user", "phone"),
    "phone": on("user", "phone"),
    "phone_mobile": on("user", "phone", note="we keep one phone number per user"),
    "mobile": on("user", "phone", note="we keep one phone number per user"),
    "language": on("user", "language"),
    "currency_code": on("user", "currency"),
}
_USER_ABSENT = absent("Designer keeps a user's name, e-mail, title, phone and language only")
PRODUCT = {
    "productname": on("product", "name"),
    "servicename": on("product", "name"),
    "productcode": on("product", "sku"),
    "product_no": on("product", "sku"),
    "unit_price": on("product", "unit_price", "money"),
    "description": on("product", "description"),
}
COMPANY = {
    "name": on("company", "name"),
    "organizationname": on("company", "name"),
    "companyname": on("company", "name"),
    "address": on("company", "address"),
    "street": on("company", "address"),
    "phone": on("company", "phone"),
    "website": on("company", "website"),
    "email": on("company", "email"),
    "vatid": on("company", "vat_number"),
    "vat_id": on("company", "vat_number"),
    "logo": on("company", "logo_url", "logo"),
    "logoname": on("company", "logo_url", "logo"),
    "fax": absent("the company details here have no fax number"),
}
for _part in ("zip", "code", "city", "state", "country"):
    COMPANY[_part] = on(
        "company", None, "drop", "the company's address is one text (company.address): left out"
    )
TABLES = {"contact": CONTACT, "organisation": ORGANISATION, "document": DOCUMENT}
TABLES.update(user=USER, product=PRODUCT, company=COMPANY)

#: Totals and currency of inventory records (PDF Maker and EMAIL Maker alike).
_NO_SHIPPING = "our documents have no shipping and handling charges: always 0"
TOTALS = {
    "TOTALWITHOUTVAT": on("document", "subtotal", "money"),
    "TOTALAFTERDISCOUNT": on("document", "subtotal", "money"),
    "NETTOTAL": on("document", "subtotal", "money"),
    "SUBTOTAL": on("document", "total", "money", "no shipping or adjustment here: the total"),
    "VAT": on("document", "tax_total", "money"),
    "TOTALWITHVAT": on("document", "total", "money"),
    "TOTAL": on("document", "total", "money"),
    "TOTALDISCOUNT": on("document", 'lines | sum(attribute="discount")', "money"),
    "VATPERCENT": on("document", "lines", "rates"),
    "ADJUSTMENT": on(None, "0", "money", "our documents have no adjustment: always 0"),
    "SHTAXAMOUNT": on(None, "0", "money", _NO_SHIPPING),
    "SHTAXTOTAL": on(None, "0", "money", _NO_SHIPPING),
    "CURRENCYCODE": on("document", "currency"),
    "CURRENCYNAME": on("document", "currency", note="the currency's code stands for its name"),
    "CURRENCYSYMBOL": on("document", "currency", note="the currency's code stands for its symbol"),
    "TERMS_AND_CONDITIONS": on("document", "notes"),
}
#: Fields of a line inside a product block (``#PRODUCTBLOC_START#``).
LINE = {
    "PRODUCTPOSITION": on("loop", "index", "number"),
    "PRODUCTSEQUENCE": on("loop", "index", "number"),
    "PRODUCTNAME": on("line", "name"),
    "PRODUCTTITLE": on("line", "name"),
    "PRODUCTDESCRIPTION": on("line", "description"),
    "PRODUCTEDITDESCRIPTION": on("line", "description"),
    "PRODUCTCODE": on("line", "product.sku"),
    "PRODUCTQUANTITY": on("line", "quantity", "number"),
    "PRODUCTLISTPRICE": on("line", "unit_price", "money"),
    "PRODUCTTOTAL": on("line", "gross", "money"),
    "PRODUCTDISCOUNT": on("line", "discount", "money"),
    "PRODUCTDISCOUNTPERCENT": on("line", "discount_percent", "number"),
    "PRODUCTSTOTALAFTERDISCOUNT": on("line", "net", "money"),
    "PRODUCTVATPERCENT": on("line", "tax_rate", "number"),
    "PRODUCTVATSUM": on("line", "tax", "money"),
    "PRODUCTTOTALSUM": on("line", "net + line.tax", "money"),
    "PRODUCTUSAGEUNIT": absent("our lines have no unit of measure"),
    "PRODUCTUNITPRICE": on("line", "unit_price", "money"),
    "PS_NAME": on("line", "name"),
    "PS_TITLE": on("line", "name"),
    "PS_DESCRIPTION": on("line", "description"),
    "PS_CODE": on("line", "product.sku"),
    "PS_NO": on("line", "product.sku"),
}
#: ``$IB_INVENTORYITEM_<field>$`` of ITS4You's inventory block.
INVENTORY_ITEM = {
    "productid": on("line", "name"),
    "item_text": on("line", "description"),
    "description": on("line", "description"),
    "quantity": on("line", "quantity", "number"),
    "price": on("line", "unit_price", "money"),
    "subtotal": on("line", "gross", "money"),
    "discount": on("line", "discount_percent", "number"),
    "discount_amount": on("line", "discount", "money"),
    "discounts_amount": on("line", "discount", "money"),
    "price_after_discount": on("line", "net", "money"),
    "price_after_overall_discount": on("line", "net", "money"),
    "tax": on("line", "tax_rate", "number"),
    "tax_amount": on("line", "tax", "money"),
    "price_total": on("line", "net + line.tax", "money"),
    "sequence": on("loop", "index", "number"),
    "unit": absent("our lines have no unit of measure"),
}
VAT_BLOCK = {
    "VATBLOCK_LABEL": on("vat", "label"),
    "VATBLOCK_VALUE": on("vat", "value"),
    "VATBLOCK_PERCENT": on("vat", "percent"),
    "VATBLOCK_NETTO": on("vat", "netto", "money"),
    "VATBLOCK_VAT": on("vat", "vat", "money"),
}
#: vtiger core placeholders without a module, filled from vtiger's own settings.
CORE_PLACEHOLDERS = {
    "contact_name": "vtiger fills it for its customer-portal mails; use the contact's name fields",
    "login_name": "customer-portal logins do not exist here",
    "password": "customer-portal passwords do not exist here",
    "url": "vtiger's portal address does not exist here",
    "support_team": "vtiger's support-team signature does not exist here",
    "siteurl": "links to the CRM do not exist here",
    "portalurl": "vtiger's portal address does not exist here",
    "crmdetailviewurl": "links to the CRM record do not exist here",
    "portaldetailviewurl": "vtiger's portal address does not exist here",
    "portalpdfurl": "vtiger's portal address does not exist here",
    "support_name": "vtiger's help-desk name does not exist here",
    "support_email_id": "vtiger's help-desk address does not exist here",
    "dbtimezone": "the CRM database's time zone does not apply here",
}
_IDENTITY = absent("record ids and created/modified times of vtiger are not kept here")
#: User prefixes: which user each one names.
USER_PREFIXES = {
    "s": "owner",
    "": "owner",
    "l": "sender",
    "r": "sender",
    "m": "owner",
    "c": "owner",
}
_STAND_IN = "we do not keep who created or last modified a record: the record's owner stands in"


class Resolution(NamedTuple):
    """What a variable became: a Jinja ``expression`` (``raw``: a whole snippet), or ``reason``."""

    expression: str | None = None
    note: str = ""
    reason: str = ""
    raw: bool = False


def roots(module):
    """The merge data each kind of record is found at for a template of ``module``."""
    found = {"company": "company", "sender": "sender"}
    if module in DOCUMENT_MODULES:
        found.update(document="document", contact="contact", organisation="organisation")
        found["owner"] = "document.owner"
    elif module == "contact":
        found.update(contact="contact", organisation="organisation")
        # A contact without an organisation has no owner to read.
        found["owner"] = "(organisation.owner or {})"
    elif module == "organisation":
        found.update(organisation="organisation", owner="organisation.owner")
    elif module == "user":
        found.update(owner="user")
    elif module == "product":
        found.update(product="product")
    return found


def amount_format(decimals=2):
    """The number pattern amounts are written with (the makers write no currency sign)."""
    decimals = max(0, min(int(decimals), 6))
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def expression_of(field, module, decimals=2, user=None):
    """The Jinja expression for ``field`` in a template of ``module`` (``Resolution``)."""
    if field.reason:
        return Resolution(reason=field.reason)
    if field.type == "drop":
        return Resolution("", field.note)
    entity = user if field.entity == "user" else field.entity
    if entity is None:
        base = field.attr
    elif entity in ("line", "loop", "vat"):
        base = f"{entity}.{field.attr}"
    else:
        root = roots(module).get(entity)
        if root is None:
            return Resolution(reason=_missing_record(entity, module))
        base = f"{root}.{field.attr}"
    return _typed(base, field, decimals)


def _typed(base, field, decimals):
    if field.type == "money":
        return Resolution(f'({base}) | number("{amount_format(decimals)}")', field.note)
    if field.type == "number":
        return Resolution(f"{base} | number", field.note)
    if field.type == "date":
        return Resolution(f"{base} | date", field.note)
    if field.type == "rates":
        return Resolution(
            f'{base} | map(attribute="tax_rate") | unique | map("number") | join(" / ")',
            field.note,
        )
    if field.type == "logo":
        snippet = (
            f'{{% if {base} %}}<img src="{{{{ {base} }}}}" alt="{{{{ company.name }}}}">'
            "{% endif %}"
        )
        return Resolution(snippet, field.note, raw=True)
    return Resolution(base, field.note)


def _missing_record(entity, module):
    what = {"document": "an invoice or quote", "product": "a product", "owner": "an owner"}
    return f"a {module} template has no {what.get(entity, entity)} to read this from"


def _module_field(vtiger_module, name, module, decimals, user="owner"):
    vtiger_module = vtiger_module.lower()
    name = name.lower()
    if vtiger_module in ABSENT_MODULES:
        return Resolution(reason=f"Designer keeps no {ABSENT_MODULES[vtiger_module]}")
    entity = ENTITIES.get(vtiger_module)
    if entity is None:
        return Resolution(reason=f"vtiger module {vtiger_module} is not known here")
    if name in ("crmid", "createdtime", "modifiedtime", "imagename") or name.startswith(
        ("createdtime", "modifiedtime")
    ):
        return Resolution(reason=_IDENTITY.reason)
    table = TABLES.get(entity, {})
    field = table.get(name)
    if field is None and entity == "document":
        field = TOTALS.get(name.upper())
    if field is None:
        if entity == "user":
            return Resolution(reason=_USER_ABSENT.reason)
        return Resolution(reason=f"{vtiger_module} field {name} has no equivalent here")
    return expression_of(field, module, decimals, user=user)


def _user_field(prefix, name, module, decimals, short=False):
    user = USER_PREFIXES.get(prefix, "owner")
    field = USER.get(name.lower())
    if field is None:
        return Resolution(reason=_USER_ABSENT.reason)
    result = expression_of(field, module, decimals, user=user)
    if prefix in ("m", "c") and result.expression:
        note = "; ".join(n for n in (result.note, _STAND_IN) if n)
        return result._replace(note=note)
    return result


def resolve(token, module, vtiger_module="", decimals=2, place="body"):
    """What the variable ``token`` (``$…$`` included) becomes in a template of ``module``."""
    name = token[1:-1]
    if place in LINE_PLACES:
        inside = _line_variable(name, place, decimals)
        if inside is not None:
            return inside
    if name.upper() in LINE or name.upper().startswith(("IB_", "VATBLOCK_")):
        return Resolution(reason="a line or tax-group field outside its product or tax block")
    if "-" in name or ":" in name:
        return _lower(name, module, vtiger_module, decimals)
    if name.isupper() or name[:1].isupper():
        return _upper(name, module, vtiger_module, decimals)
    return _plain(name, module, vtiger_module, decimals)


LINE_PLACES = ("products", "inventory", "vat")


def _line_variable(name, place, decimals):
    upper = name.upper()
    if place == "vat" and upper in VAT_BLOCK:
        return expression_of(VAT_BLOCK[upper], "", decimals)
    if upper in LINE:
        return expression_of(LINE[upper], "", decimals)
    if upper.startswith("IB_INVENTORYITEM_"):
        field = INVENTORY_ITEM.get(upper[len("IB_INVENTORYITEM_") :].lower())
        if field is None:
            return Resolution(reason="this inventory-item field has no equivalent on our lines")
        return expression_of(field, "", decimals)
    if upper.startswith(("IB_PRODUCTS_", "IB_SERVICES_")):
        field = PRODUCT.get(upper.split("_", 2)[2].lower())
        if field is None:
            return Resolution(reason="this product field has no equivalent on our lines")
        return expression_of(field._replace(entity="line", attr="product." + field.attr), "", 2)
    return None


def _upper(name, module, vtiger_module, decimals):
    if name in TOTALS:
        return expression_of(TOTALS[name], module, decimals)
    if name.startswith("COMPANY_"):
        return _company(name[len("COMPANY_") :], module, decimals)
    for prefix, user in (("L_USER_", "l"), ("M_USER_", "m"), ("C_USER_", "c"), ("USER_", "s")):
        if name.startswith(prefix):
            return _user_field(user, name[len(prefix) :], module, decimals, short=True)
    for prefix, user in (("R_USERS_", "r"), ("M_USERS_", "m"), ("C_USERS_", "c"), ("USERS_", "s")):
        if name.startswith(prefix):
            rest = name[len(prefix) :].lower()
            if rest in ("crmid", "imagename") or rest.startswith("currency_"):
                return Resolution(reason=_IDENTITY.reason)
            return _user_field(user, rest, module, decimals)
    if name.startswith("R_"):
        return _related(name[2:], module, decimals, separator="_")
    split = _split_module(name, "_")
    if split is None:
        return Resolution(reason="not a field of any vtiger module known here")
    vtiger, field = split
    return _module_field(vtiger, field, module, decimals)


def _split_module(name, separator):
    lowered = name.lower()
    for vtiger in sorted(KNOWN_MODULES, key=len, reverse=True):
        if lowered.startswith(vtiger + separator) and len(lowered) > len(vtiger) + 1:
            return vtiger, lowered[len(vtiger) + 1 :]
    return None


def _related(rest, module, decimals, separator):
    split = _split_module(rest, separator)
    if split is None:
        lowered = rest.lower()
        for column in sorted(REFERENCES, key=len, reverse=True):
            if lowered.startswith(column + separator):
                split = REFERENCES[column], lowered[len(column) + 1 :]
                break
    if split is None:
        return Resolution(reason="the related record's module is not known here")
    vtiger, field = split
    if vtiger == "users":
        return _user_field("s", field, module, decimals)
    return _module_field(vtiger, field, module, decimals)


def _company(name, module, decimals):
    field = COMPANY.get(name.lower())
    if field is None:
        return Resolution(reason="the company details here have no such field")
    return expression_of(field, module, decimals)


def _lower(name, module, vtiger_module, decimals):
    if ":" in name:
        return _core_reference(name, module, decimals)
    parts = name.split("-")
    head = parts[0].lower()
    if head in ("company", "companydetails"):
        return _company("-".join(parts[1:]), module, decimals)
    if head == "custom":
        return _custom(parts[1:])
    if head in USER_PREFIXES and len(parts) >= 2:
        return _prefixed(head, parts[1:], module, vtiger_module, decimals)
    if len(parts) == 2:
        if head == "users":
            return _user_field("l", parts[1], module, decimals)
        return _module_field(head, parts[1], module, decimals)
    return Resolution(reason="not a vtiger variable form known here")


def _prefixed(prefix, parts, module, vtiger_module, decimals):
    first = parts[0].lower()
    for short in ("user_", "users_"):
        if first.startswith(short) and len(parts) == 1:
            rest = first[len(short) :]
            if rest == "crmid":
                return Resolution(reason=_IDENTITY.reason)
            return _user_field(prefix, rest, module, decimals, short=True)
    if first == "users" and len(parts) == 2:
        return _user_field(prefix, parts[1], module, decimals)
    if prefix == "s":
        if len(parts) == 2:
            return _module_field(first, parts[1], module, decimals)
        if len(parts) == 1:
            return _module_field(vtiger_module or "contacts", first, module, decimals)
    if prefix == "r":
        if len(parts) == 3:
            return _module_field(parts[1], parts[2], module, decimals)
        if len(parts) == 2:
            return _related(f"{parts[0]}-{parts[1]}", module, decimals, separator="-")
        if len(parts) == 1:
            return _recipient(first, module, decimals)
    return Resolution(reason="not a vtiger variable form known here")


def _core_reference(name, module, decimals):
    """vtiger core's ``$invoice-account_id:accountname$``: a field of a referenced record."""
    _, _, tail = name.partition("-")
    reference, _, field = tail.partition(":")
    target = REFERENCES.get(reference.lower())
    if target is None:
        return Resolution(reason=f"the reference field {reference} is not known here")
    if target == "users":
        return _user_field("s", field, module, decimals)
    return _module_field(target, field, module, decimals)


def _custom(parts):
    what = "-".join(parts).lower()
    if what in ("currentdate", "date"):
        return Resolution("now | date", "the current date in the recipient's date format")
    if what in ("currenttime", "time"):
        return Resolution('now | datetime("HH:mm")', "the current time (UTC)")
    return Resolution(reason="vtiger's general variable has no equivalent here")


def _recipient(name, module, decimals):
    entity = "organisation" if module == "organisation" else "contact"
    field = TABLES[entity].get(name) or ORGANISATION.get(name)
    if field is None:
        return Resolution(reason=f"the recipient's field {name} has no equivalent here")
    return expression_of(field, module, decimals)


def _plain(name, module, vtiger_module, decimals):
    lowered = name.lower()
    if lowered in CORE_PLACEHOLDERS:
        return Resolution(reason=CORE_PLACEHOLDERS[lowered])
    if lowered in TOTALS or name.upper() in TOTALS:
        return expression_of(TOTALS[name.upper()], module, decimals)
    return _recipient(lowered, module, decimals)

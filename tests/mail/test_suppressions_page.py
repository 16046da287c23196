"""The Suppressions page: search, add, remove with a confirmation, CSV import and export, the
audit list (automatic additions included), roles, CSRF and logged-out visitors."""

import csv
import io

import pytest
from support import csrf_token, log_in

from designer import mail
from designer.crm import inbound as crm_sync
from designer.extensions import db
from designer.mail import suppression_import, suppression_list
from designer.mail.models import Suppression, SuppressionEvent
from designer.mail.suppression import unsubscribe_token
from designer.records import User


@pytest.fixture
def ada(client, people):
    """The admin of ``people``, logged in."""
    return log_in(client, "ada@example.com", "secret")


@pytest.fixture
def mia(app, people):
    """A marketer, logged in."""
    user = User(name="Mia Marketer", email="mia@example.com", role="marketer")
    user.set_password("secret")
    db.session.add(user)
    db.session.commit()
    return log_in(app.test_client(), "mia@example.com", "secret")


def post(client, path, data=None, **kwargs):
    return client.post(
        path, data={**(data or {}), "csrf_token": csrf_token(client, "/suppressions")}, **kwargs
    )


def listed():
    db.session.expire_all()
    return {s.email: s.reason for s in db.session.scalars(db.select(Suppression))}


def audit():
    db.session.expire_all()
    query = db.select(SuppressionEvent).order_by(SuppressionEvent.id)
    return [(e.action, e.email, e.reason, e.actor, e.note) for e in db.session.scalars(query)]


def upload(client, content, name="list.csv", reason="unsubscribed"):
    data = {"file": (io.BytesIO(content), name), "reason": reason}
    return post(client, "/suppressions/import", data, content_type="multipart/form-data")


# Who may use it


@pytest.mark.parametrize(
    "path", ["/suppressions", "/suppressions/export.csv", "/suppressions/1/remove"]
)
def test_a_logged_out_visitor_is_sent_to_login(client, people, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_logged_out_post_changes_nothing(client, people):
    mail.suppress("kept@example.com")
    token = csrf_token(client, "/login")
    for path in ("/suppressions/add", "/suppressions/1/remove", "/suppressions/import"):
        data = {"csrf_token": token, "addresses": "new@example.com", "reason": "other"}
        response = client.post(path, data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert listed() == {"kept@example.com": "unsubscribed"}


@pytest.mark.parametrize("who", ["ada", "mia"])
def test_admins_and_marketers_use_the_page(request, who):
    client = request.getfixturevalue(who)
    page = client.get("/suppressions")
    assert page.status_code == 200
    assert 'href="/suppressions" aria-current="page">Suppressions</a>' in page.text
    response = post(client, "/suppressions/add", {"addresses": "x@example.com", "reason": "other"})
    assert response.status_code == 302
    assert listed() == {"x@example.com": "other"}
    email = f"{who}@example.com"
    assert audit() == [("added", "x@example.com", "other", email, "")]


def test_every_form_needs_the_csrf_token(ada):
    mail.suppress("kept@example.com")
    entry_id = db.session.scalar(db.select(Suppression.id))
    for path in ("/suppressions/add", f"/suppressions/{entry_id}/remove", "/suppressions/import"):
        response = ada.post(path, data={"addresses": "new@example.com", "reason": "other"})
        assert response.status_code == 400, path
    assert listed() == {"kept@example.com": "unsubscribed"}


# Adding and removing


def test_pasted_addresses_are_checked_line_by_line_and_added_all_or_none(ada):
    pasted = "Ann@Example.com\n\nnot an address\nbob@example\ncarl@example.com"
    response = post(
        ada, "/suppressions/add", {"addresses": pasted, "reason": "complained", "note": "phone"}
    )
    assert response.status_code == 400
    assert "Nothing was added" in response.text
    assert "Line 3: &#39;not an address&#39;: contains a space" in response.text
    assert "Line 4: &#39;bob@example&#39;: the domain has no dot" in response.text
    assert "carl@example.com</textarea>" in response.text  # the paste is kept to fix
    assert listed() == {}

    mail.suppress("carl@example.com", "bounced")
    pasted = "Ann@Example.com\ncarl@example.com\nann@example.com"
    response = post(
        ada, "/suppressions/add", {"addresses": pasted, "reason": "complained", "note": "phone"}
    )
    assert response.status_code == 302
    page = ada.get("/suppressions").text
    assert "Added 1 address to the suppression list. 1 was on it already." in page
    assert listed() == {"ann@example.com": "complained", "carl@example.com": "bounced"}
    assert audit()[-1] == ("added", "ann@example.com", "complained", "ada@example.com", "phone")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"addresses": "", "reason": "other"}, "Enter at least one e-mail address."),
        ({"addresses": "a@example.com", "reason": "bogus"}, "Choose a reason from the list."),
        ({"addresses": "a@example.com", "reason": "other", "note": "n" * 501}, "longer than 500"),
        ({"addresses": "a@example.com\n" * 1001, "reason": "other"}, "at most 1,000"),
    ],
)
def test_bad_additions_are_refused_in_words(ada, data, message):
    response = post(ada, "/suppressions/add", data)
    assert response.status_code == 400 and message in response.text
    assert listed() == {}


def test_removing_asks_first_says_what_it_means_and_is_logged(ada, mia):
    mail.suppress("gone@example.com", "unsubscribed", campaign_id=None)
    entry_id = db.session.scalar(db.select(Suppression.id))
    confirm = mia.get(f"/suppressions/{entry_id}/remove")
    assert confirm.status_code == 200
    assert "will get marketing mail again" in confirm.text
    assert "asked not to get such mail" in confirm.text
    assert listed() == {"gone@example.com": "unsubscribed"}  # looking removes nothing

    response = post(mia, f"/suppressions/{entry_id}/remove", {"note": "asked to come back"})
    assert response.status_code == 302
    assert (
        "Removed gone@example.com: it gets marketing mail again." in mia.get("/suppressions").text
    )
    assert listed() == {} and not mail.is_suppressed("gone@example.com")
    assert audit() == [
        ("added", "gone@example.com", "unsubscribed", "unsubscribe link", ""),
        ("removed", "gone@example.com", "unsubscribed", "mia@example.com", "asked to come back"),
    ]
    again = post(ada, f"/suppressions/{entry_id}/remove")
    assert again.status_code == 302
    assert "not on the suppression list (any more)" in ada.get("/suppressions").text
    assert len(audit()) == 2


# Searching


def test_search_is_a_case_insensitive_substring_with_a_reason_filter_and_pages(ada, people):
    entries = {f"user{n:03}@shop.example": ("unsubscribed", "") for n in range(55)}
    entries.update(
        {"Boss_1%@Other.example".lower(): ("complained", ""), "x@y.example": ("other", "")}
    )
    suppression_list.add_many(entries, people.admin, action="imported")

    page = ada.get("/suppressions?q=SHOP.EX").text
    assert '<span class="count">55</span>' in page and "page 1" in page
    assert page.count("@shop.example</strong>") == 50
    assert 'href="/suppressions?q=SHOP.EX&amp;reason=&amp;page=2&amp;log=1">Older</a>' in page
    assert 'href="/suppressions?q=SHOP.EX&amp;reason=&amp;page=1&amp;log=2">Earlier</a>' in page
    second = ada.get("/suppressions?q=SHOP.EX&page=2").text
    assert second.count("@shop.example</strong>") == 5

    found = ada.get("/suppressions?q=_1%25").text  # wildcards are plain characters
    assert '<span class="count">1</span>' in found and "boss_1%@other.example" in found
    assert ada.get("/suppressions?q=1_").text.count("</strong></td>") == 0

    by_reason = ada.get("/suppressions?reason=other").text
    assert '<span class="count">1</span>' in by_reason and "x@y.example" in by_reason
    assert "CSV import" in by_reason and "ada@example.com" in by_reason
    assert ada.get("/suppressions?page=x&log=-3&reason=nonsense").status_code == 200


# Import


def test_import_reports_bad_lines_by_number_and_adds_the_rest(ada):
    mail.suppress("old@example.com", "bounced")
    content = (
        b"\xef\xbb\xbfEmail;Reason;Note\n"  # 1: a header, semicolons, a BOM
        b"ann@example.com;;first\n"  # 2: added with the form's reason
        b"Bob@Example.com;complained;\n"  # 3: added
        b"caf\xe9@example.com;;Latin-1\n"  # 4: not UTF-8
        b"nul\x00@example.com;;\n"  # 5: a NUL byte
        b"not-an-address;;\n"  # 6
        b"dan@example.com;sometimes;\n"  # 7: unknown reason
        b"\n"  # 8: blank, skipped
        b"old@example.com;;\n"  # 9: already suppressed
        b"ANN@example.com;;\n"  # 10: twice in the file
        b'"eve@example.com";other;"a note; with ""quotes"""\n'  # 11
    )
    response = upload(ada, content)
    assert response.status_code == 200
    assert "Added 3, already suppressed 2, refused 4." in response.text
    for line, why in [
        (4, "not UTF-8 text"),
        (5, "control characters"),
        (6, "&#39;not-an-address&#39;: not an e-mail address"),
        (7, "unknown reason &#39;sometimes&#39;"),
    ]:
        assert f"Line {line}: " in response.text and why in response.text
    assert "The refused lines were not imported; the other lines were." in response.text
    assert listed() == {
        "old@example.com": "bounced",
        "ann@example.com": "unsubscribed",
        "bob@example.com": "complained",
        "eve@example.com": "other",
    }
    imported = [e for e in audit() if e[0] == "imported"]
    assert ("imported", "eve@example.com", "other", "ada@example.com", 'a note; with "quotes"') in (
        imported
    )
    assert len(imported) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file holds no addresses."),
        (b"PK\x03\x04rest of a zip", "spreadsheet workbook (.xlsx)"),
        ("a@example.com\n".encode("utf-16"), "UTF-16"),
        (
            b'a@example.com,"unclosed\n' + b"x" * 200_000,
            "Line 1: field larger than field limit (131072) (a quote never closed?)",
        ),
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing_and_says_why(ada, content, message):
    response = upload(ada, content)
    assert response.status_code == 400
    assert "Nothing imported" in response.text and message in response.text
    assert listed() == {}


def test_import_is_bounded_in_size_and_lines(ada, monkeypatch):
    assert "At most 5 MB and 100,000 lines." in ada.get("/suppressions").text
    big = b"a@example.com\n" * (5 * 1024 * 1024 // 14 + 1)
    response = upload(ada, big)
    assert response.status_code == 400 and "larger than 5 MB" in response.text
    monkeypatch.setattr(suppression_import, "MAX_ROWS", 3)
    response = upload(ada, b"email\na@example.com\nb@example.com\nc@example.com\nd@example.com\n")
    assert response.status_code == 400 and "more than 3 lines" in response.text
    assert listed() == {}


def test_import_without_a_file_or_with_a_bad_reason_says_so(ada):
    response = post(ada, "/suppressions/import", {"reason": "other"})
    assert response.status_code == 400 and "Choose a CSV file to import." in response.text
    response = upload(ada, b"a@example.com\n", reason="made-up")
    assert response.status_code == 400 and "Choose a reason from the list." in response.text


# Export


def test_export_is_formula_safe_and_imports_back(ada, people):
    entries = {
        "=cmd@example.com": ("other", '=HYPERLINK("http://evil.example")'),
        "+1@example.com": ("complained", "@SUM(A1)"),
        "plain@example.com": ("other", "-minus"),
    }
    suppression_list.add_many(entries, people.admin, action="added")
    mail.suppress("auto@example.com", "bounced", campaign_id=7)
    response = ada.get("/suppressions/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["email", "reason", "note", "added_by", "added_at", "campaign_id"]
    cells = {row[0]: row for row in rows[1:]}
    assert cells["'=cmd@example.com"][2] == '\'=HYPERLINK("http://evil.example")'
    assert cells["'+1@example.com"][2] == "'@SUM(A1)"
    assert cells["plain@example.com"][2:4] == ["'-minus", "ada@example.com"]
    assert cells["auto@example.com"][1::2] == ["bounced", "bounce", "7"]
    only = ada.get("/suppressions/export.csv?q=AUTO").get_data(as_text=True)
    assert only.count("\n") == 2

    exported = ada.get("/suppressions/export.csv").data
    db.session.execute(db.delete(Suppression))
    db.session.commit()
    again = upload(ada, exported)  # the formula guard is taken off again
    assert "Added 4, already suppressed 0, refused 0." in again.text
    assert listed() == {
        "=cmd@example.com": "other",
        "+1@example.com": "complained",
        "plain@example.com": "other",
        "auto@example.com": "bounced",
    }
    assert (
        "imported",
        "=cmd@example.com",
        "other",
        "ada@example.com",
        '=HYPERLINK("http://evil.example")',
    ) in audit()


# Automatic additions in the audit list


def test_an_unsubscribe_click_a_bounce_and_a_crm_opt_out_are_logged_as_automatic(
    ada, client, smtp_app, smtp_server, welcome, people
):
    jan, emma = (
        mail.queue_message(
            welcome.current,
            module="contact",
            record=contact,
            sender_user=people.admin,
            enqueue=False,
        )
        for contact in (people.jan, people.emma)
    )
    jan.campaign_id = 42
    db.session.commit()
    anonymous = smtp_app.test_client()
    assert anonymous.post(f"/u/{unsubscribe_token(jan.token)}").status_code == 200
    smtp_server.handler.answers.append("550 5.1.1 no such user")
    assert mail.deliver_batch([emma.id])["failed"] == 1
    crm_sync.suppress_opt_outs("Contacts", [{"email": "crm@example.com", "emailoptout": "1"}])

    assert audit() == [
        ("added", "jan@devries.example", "unsubscribed", "unsubscribe link", ""),
        ("added", "emma@devries.example", "bounced", "bounce", ""),
        ("added", "crm@example.com", "crm_opt_out", "CRM", ""),
    ]
    page = ada.get("/suppressions").text
    assert "campaign #42" in page
    assert page.count('<td class="break">unsubscribe link</td>') == 2  # list and audit
    assert page.count('<td class="break">bounce</td>') == 2
    assert "Opted out in the CRM" in page

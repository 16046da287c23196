"""A CRM's first import writes new organisations and contacts in one INSERT each page,
checked like any upsert: the same rows as one upsert each, bad ones refused by name,
held ones and ids named twice left to the upsert."""

from designer.extensions import db
from designer.records import Contact, Organisation
from designer.records.upsert import create_many, preloaded, upsert_record


def columns(record, *names):
    return {name: getattr(record, name) for name in names}


def bulk(module, records):
    with preloaded(module, records):
        result = create_many(module, records)
    db.session.commit()
    return result


def test_new_records_are_the_rows_one_upsert_each_would_write(app, people):
    org = {"id": "11x1", "name": " Acme ", "city": "Utrecht", "owner": "ada@example.com"}
    created, refused, rest = bulk("organisation", [org, {**org, "id": "11x2", "cf_9": "x"}])
    assert (created, refused, rest) == (["11x1", "11x2"], {}, [])
    upsert_record("organisation", {**org, "id": "11x3", "cf_9": "x"})
    db.session.commit()
    by_id = {o.external_id: o for o in db.session.scalars(db.select(Organisation))}
    fields = ("name", "city", "owner_id", "custom", "archived_at", "language")
    assert columns(by_id["11x2"], *fields) == columns(by_id["11x3"], *fields)
    assert by_id["11x1"].name == "Acme" and by_id["11x1"].owner_id == people.admin.id
    assert by_id["11x2"].created_at is not None

    contact = {"id": "12x1", "first_name": "Jo", "email": "jo@example.com", "organisation": "11x1"}
    created, refused, rest = bulk("contact", [contact, {**contact, "id": "12x2", "cf_1": 5}])
    assert created == ["12x1", "12x2"] and not refused and not rest
    upsert_record("contact", {**contact, "id": "12x3", "cf_1": 5})
    db.session.commit()
    by_id = {c.external_id: c for c in db.session.scalars(db.select(Contact))}
    fields = ("first_name", "email", "organisation_id", "custom", "language", "tags")
    assert columns(by_id["12x2"], *fields) == columns(by_id["12x3"], *fields)
    assert by_id["12x1"].organisation.external_id == "11x1"


def test_bad_records_are_refused_by_field_and_the_good_ones_written(app, people):
    records = [
        {"id": "11x1", "name": ""},
        {"id": "11x2", "name": "Fine"},
        {"id": "11x3", "name": "Bad owner", "owner": "nobody@example.com"},
        {"id": "11x4", "name": "Long", "city": "x" * 101},
    ]
    created, refused, rest = bulk("organisation", records)
    assert created == ["11x2"] and not rest
    assert {key: exc.field for key, exc in refused.items()} == {
        "11x1": "name",
        "11x3": "owner",
        "11x4": "city",
    }
    held = db.session.scalars(
        db.select(Organisation.external_id).where(Organisation.external_id.like("11x%"))
    )
    assert held.all() == ["11x2"]
    created, refused, rest = bulk("contact", [{"id": "12x1", "organisation": "11x99"}])
    assert not created and refused["12x1"].field == "organisation"


def test_held_records_and_ids_named_twice_are_left_to_the_upsert(app, people):
    upsert_record("organisation", {"id": "11x1", "name": "Held"})
    db.session.commit()
    records = [
        {"id": "11x1", "name": "Held, renamed"},
        {"id": "11x2", "name": "First"},
        {"id": "11x2", "name": "Second"},
        {"name": "no id"},
    ]
    with preloaded("organisation", records):
        created, refused, rest = create_many("organisation", records)
        assert created == ["11x2"] and not refused
        assert rest == [records[0], records[2], records[3]]
        for data in rest[:2]:  # what the import does with the rest
            upsert_record("organisation", data)
    db.session.commit()
    query = db.select(Organisation.external_id, Organisation.name)
    names = dict(db.session.execute(query.where(Organisation.external_id.like("11x%"))).all())
    assert names == {"11x1": "Held, renamed", "11x2": "Second"}

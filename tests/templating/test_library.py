import time
from designer.extensions import db
from designer.records import Document, Contact

def test_explore(app):
    from designer.records.demo import load_demo
    t=time.time(); load_demo(); print("load", time.time()-t)
    for kind in ("invoice","quote"):
        docs = db.session.scalars(db.select(Document).where(Document.kind==kind)).all()
        for d in docs:
            print(kind, d.number, d.status, d.organisation.language, d.contact and d.contact.language, d.currency, len(d.lines), d.total)
    import collections
    print(collections.Counter((c.language, c.organisation.language) for c in db.session.scalars(db.select(Contact))))
    print(sum(1 for c in db.session.scalars(db.select(Contact)) if c.birthday))

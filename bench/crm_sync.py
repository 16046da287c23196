"""First sync of a large vtiger into a fresh Designer, against the same webservice calls raw.

Uses the separate bench vtiger (so the test one stays small), started by::

    VTIGER_PORT=8081 VTIGER_HOME=/tmp/vt-bench VTIGER_DB=vtiger_bench \\
        bash /work/shared/vtiger/setup.sh

Phases, each a function so that others can be added (``main`` runs them in turn):

- ``setup``: makes sure the bench vtiger holds at least N organisations and M
  contacts (each at an organisation), creating only the missing ones, 4
  requests at a time (they stay for the next run);
- ``first_sync``: a fresh PostgreSQL database (``campaign_env.BenchEnv``),
  connected with "import every record", timed through ``inbound.run_pass()``
  (every module to the end: sync pages, line items, owners, bulk writes);
- ``raw``: the floor, the same ``sync`` pages and queries through a plain
  ``httpx`` client, parsing the JSON and writing nothing; run before and after the
  first sync (vtiger's own pace drifts by half between runs), the ratio taken to
  the mean of the two.

    python bench/crm_sync.py [--contacts 10000] [--organisations 2000]
                             [--postgres-url URL] [--redis-url URL]

Last line: ``RESULT records_per_s=<n> ratio_to_raw=<r> writeback_per_s=<n>`` (the
write-back phase is ``bench/crm_writeback.py``'s).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from campaign_env import BenchEnv, add_arguments, env_options

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from designer.crm.client import VtigerClient  # noqa: E402

SETUP = "/work/shared/vtiger/setup.sh"
#: The bench vtiger's setup (its setup.sh's options).
BENCH_VTIGER = {
    "VTIGER_PORT": "8081",
    "VTIGER_HOME": "/tmp/vt-bench",  # noqa: S108 (where setup.sh keeps it)
    "VTIGER_DB": "vtiger_bench",
}
MODULES = ("Accounts", "Contacts", "Products", "Quotes", "Invoice")
PARALLEL = 4


def bench_vtiger():
    """``(url, user, key)`` of the bench vtiger (its setup.sh is idempotent)."""
    out = subprocess.run(
        [shutil.which("bash"), SETUP],
        env={**os.environ, **BENCH_VTIGER},
        capture_output=True,
        text=True,
        check=False,
    )
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    values = dict(item.split("=", 1) for item in line.split() if "=" in item)
    if out.returncode or "VTIGER_URL" not in values:
        sys.exit(f"bench vtiger not running: {out.stderr[-500:]}")
    return values["VTIGER_URL"], values["VTIGER_USER"], values["VTIGER_ACCESS_KEY"]


def count(client, module):
    return int(client.query(f"SELECT count(*) FROM {module};")[0]["count"])  # noqa: S608


def setup(account, organisations, contacts):
    """Create the organisations and contacts the bench vtiger lacks; seconds spent."""
    started = time.perf_counter()
    with VtigerClient(*account) as client:
        client.login()
        user_id = client.user_id
        missing_orgs = organisations - count(client, "Accounts")
        missing_contacts = contacts - count(client, "Contacts")
    if missing_orgs > 0:
        print(f"creating {missing_orgs} organisations in the bench vtiger …", flush=True)
        _create(account, "Accounts", missing_orgs, lambda n: _organisation(n, user_id))
    with VtigerClient(*account) as client:
        org_ids = [r["id"] for r in client.query_all("SELECT id FROM Accounts")]
    if missing_contacts > 0:
        print(f"creating {missing_contacts} contacts in the bench vtiger …", flush=True)
        _create(account, "Contacts", missing_contacts, lambda n: _contact(n, user_id, org_ids))
    return time.perf_counter() - started


def _organisation(n, user_id):
    return {
        "accountname": f"Bench Org {n}",
        "email1": f"org{n}@bench.example",
        "bill_city": "Utrecht",
        "bill_country_id": "NL",
        "assigned_user_id": user_id,
    }


def _contact(n, user_id, org_ids):
    return {
        "firstname": "Bench",
        "lastname": f"Sync {n}",
        "email": f"sync{n}@bench.example",
        "account_id": org_ids[n % len(org_ids)],
        "assigned_user_id": user_id,
    }


def _create(account, module, how_many, element):
    stamp = time.time_ns() // 1000
    # vtiger keeps one login challenge per user: log the clients in one after another.
    clients = [VtigerClient(*account) for _ in range(PARALLEL)]
    for client in clients:
        client.login()

    def make(client, numbers):
        for n in numbers:
            client.create(module, element(n))
        return len(numbers)

    numbers = [stamp + n for n in range(how_many)]
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            shares = [numbers[i::PARALLEL] for i in range(PARALLEL)]
            return sum(pool.map(make, clients, shares))
    finally:
        for client in clients:
            client.close()


def first_sync(account, env):
    """Connect a fresh Designer ("import every record") and time one full pass."""
    from designer.crm import connection, inbound
    from designer.extensions import db
    from designer.records.models import Contact, Organisation

    env.open_app()
    connection.save_connection(*account, start="import")
    started = time.perf_counter()
    results = inbound.run_pass()
    seconds = time.perf_counter() - started
    # each page starts a second before the last one ended: records read twice count once
    records = sum(c.created + c.updated for c in results.values())
    linked = db.session.scalar(
        db.select(db.func.count(Contact.id)).where(Contact.organisation_id.is_not(None))
    )
    orgs = db.session.scalar(db.select(db.func.count(Organisation.id)))
    pages = sum(c.pages for c in results.values())
    return {"records": records, "seconds": seconds, "pages": pages, "linked": linked, "orgs": orgs}


def raw(account):
    """The same pages of ``sync`` (and the queries a pass makes) with plain httpx, nothing
    written: ``{"records", "seconds"}``."""
    url, user, key = account
    endpoint = url.rstrip("/") + "/webservice.php"
    started = time.perf_counter()
    records = 0
    with httpx.Client(timeout=120, trust_env=False) as http:

        def call(method, **params):
            if method == "GET":
                answer = http.get(endpoint, params=params)
            else:
                answer = http.post(endpoint, data=params)
            return answer.json()["result"]

        token = call("GET", operation="getchallenge", username=user)["token"]
        digest = hashlib.md5((token + key).encode()).hexdigest()  # noqa: S324 (vtiger's protocol)
        session = call("POST", operation="login", username=user, accessKey=digest)["sessionName"]
        for query in (
            "SELECT id, user_name, first_name, last_name, email1 FROM Users;",
            "SELECT id, currency_code FROM Currency;",
        ):
            call("GET", operation="query", sessionName=session, query=query)
        for module in MODULES:
            since, more = 0, True
            call(
                "GET",
                operation="query",
                sessionName=session,
                query=f"SELECT count(*) FROM {module};",  # noqa: S608 (our module names)
            )
            while more:
                page = call(
                    "GET",
                    operation="sync",
                    sessionName=session,
                    modifiedTime=str(since),
                    elementType=module,
                    syncType="application",
                )
                records += len(page["updated"])
                more, since = page["more"], page["lastModifiedTime"]
    return {"records": records, "seconds": time.perf_counter() - started}


def print_raw(name, floor):
    print(
        f"{name}: {floor['records']} records in {floor['seconds']:.2f} s "
        f"({floor['records'] / floor['seconds']:.0f}/s)",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--organisations", type=int, default=2_000)
    parser.add_argument(
        "--no-writeback",
        dest="writeback",
        action="store_false",
        help="skip the write-back phase (bench/crm_writeback.py, one revise per record)",
    )
    add_arguments(parser)
    args = parser.parse_args()
    account = bench_vtiger()
    made = setup(account, args.organisations, args.contacts)
    print(f"bench vtiger ready ({made:.1f} s to make what was missing)", flush=True)
    print("load before: " + "/".join(f"{v:.2f}" for v in os.getloadavg()), flush=True)
    before = raw(account)
    print_raw("raw before", before)
    with BenchEnv(**env_options(args)) as env:
        synced = first_sync(account, env)
    after = raw(account)  # vtiger's own pace drifts: the floor is measured on both sides
    print_raw("raw after", after)
    floor = {"records": before["records"], "seconds": (before["seconds"] + after["seconds"]) / 2}
    per_s = synced["records"] / synced["seconds"]
    print(
        f"first sync: {synced['records']} records ({synced['orgs']} organisations, "
        f"{synced['linked']} contacts linked to one) in {synced['pages']} pages, "
        f"{synced['seconds']:.2f} s ({per_s:.0f}/s)",
        flush=True,
    )
    ratio = per_s / (floor["records"] / floor["seconds"])
    writeback_per_s = "skipped"
    if args.writeback:
        import crm_writeback

        phase, raw_revise = crm_writeback.measure(account, args.contacts)
        writeback_per_s = phase["writeback_per_s"]
        print(
            f"write-back: {phase['writeback_records']} records in {phase['writeback_s']} s "
            f"({writeback_per_s}/s; a bare revise loop {raw_revise:.1f}/s)",
            flush=True,
        )
    print("load after: " + "/".join(f"{v:.2f}" for v in os.getloadavg()), flush=True)
    print(
        f"RESULT records_per_s={per_s:.0f} ratio_to_raw={ratio:.2f} "
        f"writeback_per_s={writeback_per_s}"
    )


if __name__ == "__main__":
    main()

"""Evaluates SigmaHQ rules on CloudTrail records with pySigma and its SQLite backend: an evaluator
independent of opentrail's, for packages/rules/scripts/sigmaCrosscheck.ts.

Input (argv[1]): JSON {"ruleDir": ..., "files": [...], "records": [record, ...]}.
Output (stdout): JSON {"rules": {file: [index of each matching record] | {"error": text}},
"skipped": [index of each record whose arrays explode into more than MAX_ROWS rows]}.

Needs pySigma and pySigma-backend-sqlite (a venv outside the project, see the .ts file). How a record
becomes rows of the `logs` table the backend's SQL reads:
  * a column per dotted field path; objects also get a column with their compact JSON text, so that
    `requestParameters|contains` searches the object's text (cloudtrail-spec.md §9);
  * arrays are exploded: a record gives one row per combination of array elements, and matches when
    any of its rows does; an empty array gives no value (NULL), so it matches nothing but IS NULL;
  * scalars as text (true/false, numbers as JSON writes them), NULL for JSON null;
  * columns are COLLATE NOCASE so that '=' compares case-insensitively, as the Sigma specification
    says (the backend writes plain '=', which SQLite would otherwise compare case-sensitively); LIKE
    already is; REGEXP is Python's re.search, case-sensitive.
"""
import itertools
import json
import re
import sqlite3
import sys

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection


def text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def alternatives(value, path):
    """Every way of reading the record as flat columns: a list of {column: text}."""
    if isinstance(value, list):
        out = []
        for element in value:
            out.extend(alternatives(element, path))
        return out or [{}]
    if isinstance(value, dict):
        combos = [{path: text(value)}] if path else [{}]
        for key, member in value.items():
            sub = alternatives(member, f"{path}.{key}" if path else key)
            combos = [dict(a, **b) for a, b in itertools.product(combos, sub)]
        return combos
    return [{path: text(value)}]


MAX_ROWS = 2000


def main():
    job = json.load(open(sys.argv[1]))
    rows = []
    skipped = []
    for index, record in enumerate(job["records"]):
        alts = alternatives(record, "")
        if len(alts) > MAX_ROWS:
            skipped.append(index)
            continue
        for alt in alts:
            rows.append((index, alt))
    # SQLite's column names ignore case; of names that differ only in case (Filters / filters in
    # real records), one is kept. No rule reads such a field.
    columns = {}
    for name in sorted({c for _, alt in rows for c in alt}):
        columns.setdefault(name.lower(), name)
    kept = set(columns.values())
    rows = [(index, {c: v for c, v in alt.items() if c in kept}) for index, alt in rows]
    columns = sorted(kept)
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, lambda pattern, value: value is not None and re.search(pattern, value) is not None)
    quoted = lambda c: '"' + c.replace('"', '""') + '"'
    db.execute(f"CREATE TABLE logs (record_id INTEGER, {', '.join(quoted(c) + ' TEXT COLLATE NOCASE' for c in columns)})")
    for index, alt in rows:
        names = ["record_id"] + [quoted(c) for c in alt]
        db.execute(f"INSERT INTO logs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", [index, *alt.values()])

    backend = sqliteBackend()
    result = {}
    for file in job["files"]:
        try:
            queries = backend.convert(SigmaCollection.from_yaml(open(f"{job['ruleDir']}/{file}").read()))
            matched = set()
            for query in queries:
                while True:
                    try:
                        matched.update(r[0] for r in db.execute(f"SELECT DISTINCT record_id FROM ({query})"))
                        break
                    except sqlite3.OperationalError as err:
                        missing = re.match(r"no such column: (.+)$", str(err))
                        if not missing:
                            raise
                        # A field no record has: a column of NULLs.
                        db.execute(f"ALTER TABLE logs ADD COLUMN {quoted(missing.group(1))} TEXT COLLATE NOCASE")
            result[file] = sorted(matched)
        except Exception as err:  # reported per rule, the others still compared
            result[file] = {"error": f"{type(err).__name__}: {err}"}
    json.dump({"rules": result, "skipped": skipped}, sys.stdout)


main()

"""Planted defects: record-level damage inside files and file-level duplicates and late deliveries.

Every planted defect is returned as a dict (file, line, kind, ...) for the ground truth, so tests and the
ingestion stage can prove each one was caught. ``line`` is 1-based: the physical line for NDJSON and CSV
(CSV header and preamble lines count), the element position for JSON arrays.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np

from simulator.render import FileOut

BAD_CURRENCIES = ["XXX", "RMB", "EURO", "US$", "ZZZ"]
REQUIRED = {
    "orders": ["order_id", "currency", "updated_at", "seller_id", "status"],
    "clicks": ["event_id", "event_ts", "anonymous_id", "event_name"],
    "tracking": ["tracking_number", "event_code"],
}
TS_FIELD = {"orders": "updated_at", "clicks": "event_ts"}


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _shift_iso(ts: str, days: int) -> str:
    from datetime import datetime

    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    out = (t + timedelta(days=days)).isoformat()
    if ts.endswith("Z"):
        out = out.replace("+00:00", "Z")
        if "." in ts and "." not in out:
            out = out.replace("Z", ".000Z")
        elif "." in out:
            head, frac = out[:-1].split(".")
            out = f"{head}.{frac[:3]}Z"
    return out


def _json_defect(f: FileOut, line: str, kind: str, rng: np.random.Generator) -> tuple[str, dict] | None:
    obj = json.loads(line)
    info: dict = {}
    if kind == "malformed_json":
        return line[: max(1, len(line) * 2 // 3)], info
    if kind == "missing_field":
        name = REQUIRED[f.feed][rng.integers(len(REQUIRED[f.feed]))]
        obj.pop(name, None)
        info["field"] = name
    elif kind == "wrong_type":
        if f.feed == "orders":
            obj["items"][0]["qty"] = f"{obj['items'][0]['qty']} pcs"
            info["field"] = "items[0].qty"
        elif f.feed == "clicks":
            from datetime import datetime

            t = datetime.fromisoformat(obj["event_ts"].replace("Z", "+00:00"))
            obj["event_ts"] = int(t.timestamp() * 1000)
            info["field"] = "event_ts"
        else:
            key = "event_time" if "event_time" in obj else "event_timestamp"
            from datetime import datetime

            obj[key] = int(datetime.fromisoformat(obj[key].replace("Z", "+00:00")).timestamp())
            info["field"] = key
    elif kind == "future_timestamp":
        days = int(rng.integers(400, 800))
        if f.feed == "tracking":
            key = "event_time" if "event_time" in obj else "event_timestamp"
        else:
            key = TS_FIELD[f.feed]
        obj[key] = _shift_iso(obj[key], days)
        info["field"] = key
    elif kind == "bad_amount":
        if f.feed == "orders":
            absurd = rng.random() < 0.5 or not _nonzero(obj["total"])
            obj["total"] = "99999999.00" if absurd else "-" + obj["total"].lstrip("-")
            info["field"] = "total"
        else:
            if "value" not in obj:
                return None
            negate = rng.random() < 0.5 and float(obj["value"]) != 0
            obj["value"] = -abs(float(obj["value"])) if negate else 1.0e9
            info["field"] = "value"
    elif kind == "unknown_currency":
        if "currency" not in obj:
            return None
        obj["currency"] = BAD_CURRENCIES[rng.integers(len(BAD_CURRENCIES))]
        info["field"] = "currency"
    return _dump(obj), info


def _nonzero(text: str) -> bool:
    """A negated zero ("-0.00") is no defect: only non-zero amounts are negated."""
    try:
        return float(text.replace(",", ".")) != 0
    except ValueError:
        return False


def _csv_defect(f: FileOut, line: str, kind: str, rng: np.random.Generator) -> tuple[str, dict] | None:
    cells = line.split(f.delimiter)
    roles = f.roles
    info: dict = {}
    if kind == "missing_field":
        cells[roles["key"]] = ""
        info["column"] = roles["key"]
    elif kind == "wrong_type":
        cells[roles["count"]] = ["n/a", "twelve", "1.2.3"][rng.integers(3)]
        info["column"] = roles["count"]
    elif kind == "bad_amount":
        col = roles["amount"]
        v = cells[col]
        # absurd in the column's own unit: a cost in micros needs six more digits to be absurd
        absurd = "987654321" + ("000000" if roles.get("amount_in_micros") else "")
        cells[col] = ("-" + v.lstrip("-")) if (rng.random() < 0.6 and _nonzero(v)) else absurd
        info["column"] = col
    elif kind == "unknown_currency":
        cells[roles["currency"]] = BAD_CURRENCIES[rng.integers(len(BAD_CURRENCIES))]
        info["column"] = roles["currency"]
    return f.delimiter.join(cells), info


def _orphan_event(line: str, rng: np.random.Generator) -> str:
    obj = json.loads(line)
    tn = obj["tracking_number"]
    digits = "".join(str(x) for x in rng.integers(0, 10, 8))
    obj["tracking_number"] = tn[:-8] + digits if len(tn) > 10 else tn + digits
    obj["tracking_number"] = "X" + obj["tracking_number"][1:]  # no carrier issues this prefix: never in a manifest
    return _dump(obj)


def plant_records(f: FileOut, rate: float, rng: np.random.Generator) -> list[dict]:
    """Damage about ``rate`` of the file's records in place; returns the defect list with final line numbers."""
    n = len(f.lines)
    if not f.defect_kinds or n == 0 or rate <= 0:
        return []
    k = int(rng.binomial(n, rate))
    if k == 0:
        return []
    picks = np.sort(rng.choice(n, size=min(k, n), replace=False))
    kinds = np.array(f.defect_kinds)[rng.integers(0, len(f.defect_kinds), len(picks))]
    mutated: list[tuple[int, dict]] = []
    inserts: list[tuple[int, str, dict]] = []
    for i, kind in zip(picks.tolist(), kinds.tolist(), strict=True):
        key = f.keys[i] if f.keys else None
        base = {"feed": f.feed, "file": f.path, "kind": kind, "key": key}
        if kind == "duplicate_record":
            inserts.append((i + 1, f.lines[i], base | {"duplicate_of_line": i}))
            continue
        if kind == "orphan_tracking":
            inserts.append((i + 1, _orphan_event(f.lines[i], rng), base | {"key": None}))
            continue
        if f.fmt == "csv":
            res = _csv_defect(f, f.lines[i], kind, rng)
        else:
            res = _json_defect(f, f.lines[i], kind, rng)
        if res is None:  # the kind does not apply to this record (e.g. no amount on a page view)
            res = _json_defect(f, f.lines[i], "malformed_json", rng) if f.fmt != "csv" else None
            base["kind"] = "malformed_json"
            if res is None:
                continue
        f.lines[i] = res[0]
        mutated.append((i, base | res[1]))
    # final positions after insertions (an insert at p lands before original line p)
    ins_pos = np.array(sorted(p for p, _, _ in inserts), dtype=np.int64)
    pre = len(f.header) if f.fmt == "csv" else 0
    out = []
    for i, rec in mutated:
        out.append(rec | {"line": int(pre + i + np.searchsorted(ins_pos, i, side="right") + 1)})
    if inserts:
        inserts.sort(key=lambda t: t[0])
        new_lines: list[str] = []
        prev = 0
        for j, (p, text, rec) in enumerate(inserts):
            new_lines.extend(f.lines[prev:p])
            new_lines.append(text)
            prev = p
            line_no = pre + p + j + 1
            if "duplicate_of_line" in rec:
                orig = rec.pop("duplicate_of_line")
                rec["duplicate_of_line"] = int(pre + orig + np.searchsorted(ins_pos, orig, side="right") + 1)
            out.append(rec | {"line": int(line_no)})
        new_lines.extend(f.lines[prev:])
        f.lines = new_lines
    out.sort(key=lambda r: r["line"])
    return out

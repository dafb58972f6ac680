#!/usr/bin/env python3
"""Commands for the desk test (test_desk.sh) and the check of what came of
them. The command id rides in the text the call carries (a reject's or
authorize's reason, a comment's body), so that each call the fake logs names
its command.

  desk_commands.py make PORTOUTS.json FIRST N > commands.tsv   (key TAB value lines)
  desk_commands.py check PORTOUTS.json COMMANDS.tsv... RESULTS.json CALLS.json FINAL.json
"""
import datetime as dt
import json
import sys


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def command(cid, ctype, po, data, age_s=0, key=None, **over):
    e = {"specversion": "1.0", "id": cid, "source": "urn:backoffice:fraud-desk",
         "type": f"com.telnyx.portout.{ctype}", "subject": po,
         "time": iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age_s)),
         "datacontenttype": "application/json", "data": data}
    e.update(over)
    return (key if key is not None else po), json.dumps(e)


def make(portouts, first, n):
    """n commands of each type from index first: authorize and reject on
    pending port-outs (two per port-out slot), comments on any; then the
    refused kinds, each once per batch."""
    pend = [p["id"] for p in portouts if p["status"] == "pending"]
    final = [p["id"] for p in portouts if p["status"] != "pending"]
    out = []
    for i in range(first, first + n):
        out.append(command(f"a-{i}", "authorize", pend[2 * i], {"reason": f"a-{i}"}))
        out.append(command(f"r-{i}", "reject", pend[2 * i + 1], {"reason": f"r-{i}"}))
        out.append(command(f"c-{i}", "comment", pend[(i * 7) % len(pend)], {"body": f"c-{i} ✓"}))
    b = first
    out += [
        command(f"a-{b}", "authorize", pend[2 * b], {"reason": f"a-{b}"}),  # a copy
        command(f"late-{b}", "authorize", final[0], {"reason": f"late-{b}"}),  # not pending
        command(f"fc-{b}", "comment", final[1], {"body": f"fc-{b}"}),  # a comment on a final one
        command(f"old-{b}", "authorize", pend[2 * first + 2 * n], {"reason": f"old-{b}"}, age_s=7200),
        command(f"nr-{b}", "reject", pend[2 * first + 2 * n + 1], {}),  # no reason
        command(f"x-{b}", "escalate", pend[0], {}),  # unknown type
        command(f"bad id {b}", "authorize", pend[0], {"reason": "bad"}),
        command(f"k-{b}", "authorize", pend[0], {"reason": f"k-{b}"}, key=pend[1]),  # key != subject
        (pend[0], "this is not JSON"),
        (pend[0], json.dumps({"specversion": "1.0", "type": "com.telnyx.portout.authorize"})),
    ]
    for k, v in out:
        print(f"{k}\t{v}")


def check(portouts_path, *rest):
    *cmd_files, results_path, calls_path, final_path = rest
    before = {p["id"]: p for p in json.load(open(portouts_path))}
    final = {p["id"]: p for p in json.load(open(final_path))["portouts"]}
    calls = json.load(open(calls_path))["calls"]
    bad = []
    # every command record sent, and its expected fate
    sent = []
    for f in cmd_files:
        for line in open(f):
            k, v = line.rstrip("\n").split("\t", 1)
            sent.append((k, v))
    results = [json.loads(json.loads(line)["payload"]) for line in open(results_path)]
    by_cmd = {}
    idless = 0
    for r in results:
        d = r["data"]
        if r["type"] != "com.telnyx.portout.command_result":
            bad.append(f"result type {r['type']}")
        if d["command_id"] is None:
            idless += 1
            continue
        if d["command_id"] in by_cmd:
            bad.append(f"two results for {d['command_id']}")
        by_cmd[d["command_id"]] = d
    ids = []
    for k, v in sent:
        try:
            e = json.loads(v)
            cid = e.get("id")
        except ValueError:
            cid = None
        if isinstance(cid, str) and all(c.isalnum() or c in "._:-" for c in cid) and cid not in ids:
            ids.append(cid)
    for cid in ids:
        if cid not in by_cmd:
            bad.append(f"no result for {cid}")
    # id-less records: one refused result each, none more
    n_idless = sum(1 for k, v in sent if not v.startswith("{") or '"id"' not in v or "bad id" in v)
    if idless != n_idless:
        bad.append(f"{idless} results without a command id for {n_idless} records without a readable one")
    # calls: at most one per command id, and exactly the allowed ones
    called = {}
    for c in calls:
        text = (c.get("body") or {}).get("reason") or (c.get("body") or {}).get("body") or ""
        cid = text.split(" ")[0]
        called[cid] = called.get(cid, 0) + 1
    for cid, n in called.items():
        if n > 1:
            bad.append(f"{n} calls for {cid}")
    want_called = {cid for cid in ids
                   if cid.split("-")[0] in ("a", "r", "c", "fc", "late")}
    # late-: refused before a call (the port-out is not pending)
    want_called -= {cid for cid in ids if cid.startswith("late-")}
    # A command whose call a killed desk may have sent (its intent committed)
    # is settled by reading, never sent again: the kill may have come before
    # the call (no call, "failed": not carried out) or after it (one call,
    # "done" if the port-out shows it). Every other allowed command: one call.
    settled_ids = {cid for cid, d in by_cmd.items() if d.get("settled_by")}
    if set(called) - want_called:
        bad.append(f"calls for {sorted(set(called) - want_called)[:5]}, which the rules refuse")
    if (want_called - settled_ids) - set(called):
        bad.append(f"no call for {sorted((want_called - settled_ids) - set(called))[:5]}")
    for cid, d in by_cmd.items():
        p = cid.split("-")[0]
        want = {"a": "done", "r": "done", "c": "done", "fc": "done"}.get(p, "refused")
        po_status = final.get(d["portout_id"], {}).get("status")
        if cid in settled_ids:
            shows = {"a": po_status == "authorized", "r": po_status == "rejected-pending"}.get(
                p, any(c2.get("body", {}) and str((c2.get("body") or {}).get("body", "")).split(" ")[0] == cid
                       for c2 in calls))
            if d["outcome"] != ("done" if shows else "failed"):
                bad.append(f"{cid}: settled {d['outcome']}, but the fake shows it "
                           f"{'carried out' if shows else 'not carried out'}")
            continue
        if d["outcome"] != want:
            bad.append(f"{cid}: {d['outcome']} (want {want}; {d.get('reason')})")
        if p in ("a", "r") and po_status != {"a": "authorized", "r": "rejected-pending"}[p]:
            bad.append(f"{cid}: port-out {d['portout_id']} is {po_status}")
    settled = [cid for cid, d in by_cmd.items() if d.get("settled_by")]
    print("\n".join(bad[:20]) or
          f"{len(results)} results for {len(ids)} command ids and {n_idless} id-less records; "
          f"{len(calls)} calls, one per allowed command; settled by reading: {settled}",
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(check(*sys.argv[2:]))

#!/usr/bin/env python3
"""A fake Telnyx port-out events API, following the documented contract
(docs/telnyx-api.md §1-§3): GET /v2/portouts/events with page[number],
page[size] (1..250), filter[event_type], filter[portout_id],
filter[created_at][gte|lte] and meta pagination; GET .../{id}; POST
.../{id}/republish -> 204; Bearer authentication; Telnyx error envelopes.

Faults, set on the command line (--faults JSON) or at run time
(POST /_admin/faults):
  {"rate_limit": {"every": N, "reset": S}}        every Nth request: 429 + x-ratelimit-* headers
  {"error_burst": {"every": N, "count": C, "status": 503}}  after every N requests, C errors
  {"fail_next": {"count": C, "status": S}}          the next C API requests: status S
  {"slow": {"every": N, "ms": MS}}                 every Nth request sleeps MS first
  {"truncate": {"every": N}}                       every Nth list/show: half a JSON body
  {"nonjson": {"every": N}}                        every Nth list/show: an HTML page
  {"insert_while_paging": {"after": K, "count": C}}  after K list requests, C new events
                                                   appear inside the listed period
  {"ignore_page": {"meta": true|false}}            every list answers page 1 (with its
                                                   meta, or with none)
  {"oversize": {"times": T}}                       T times page[size] events a page
  {"dense": {"count": N}}                          every list: a page of N empty objects
  {"float_meta": true}                             every list's meta numbers written 4.0
Admin: GET /_admin/stats, GET /_admin/ids, GET /_admin/events (id, created_at),
PATCH /v2/portouts/{id}/authorized|rejected-pending {"reason"} (422, code 10015,
for a port-out not pending), POST and GET /v2/portouts/{id}/comments; every
such call logged (GET /_admin/calls); fault {"hang_call": {"count": N, "ms":
MS, "drop": false}}: the next N calls carried out, their answer held MS ms
or dropped; {"limit_call": {"count": N, "retry_after": S}}: the next N calls
answered 429 with Retry-After S, not carried out (listed apart, "limited").
POST /_admin/portouts/create {"ages_s": [A, ...]} (pending port-outs created A
seconds ago, with no event), POST /_admin/portouts/update {"id", "status"?,
"foc_date"?, "broken"?} (a change
with no event; "broken": GET /v2/portouts/{id} answers it wrong from then on:
updated_at_null, updated_at_text, bad_id, other_id, no_data),
GET /_admin/lists (each list request's time and User-Agent),
POST /_admin/insert {"count": C,
"bad": false} (bad: an event without a port-out id, which the bridge must
dead-letter once). POST /_admin/insert {"raw_b64": B} inserts one event whose
text carries the base64-decoded bytes B spliced in as the value of its member
"hostile" (a hostile upstream: "-0", "NaN", bytes that are not UTF-8, or
'1, "id": "x"' for a duplicate member); lists and shows send those bytes as
they are.

--order asc|desc|random: the list's order (not documented by Telnyx):
oldest first, newest first, or a shuffle that a set of events keeps.
Times in filters must carry a zone ("Z" or an offset): one without is
answered 422, since Telnyx does not document how it would read it.
--webhook-ids same|differ: a webhook's data.id is the REST record's id, or
another (a UUID derived from it): the case docs/telnyx-api.md §7 leaves open.
--visibility-delay-ms D: an event shows in lists only D ms after its
created_at, as an eventually consistent API does.
--clock-offset-s S: Telnyx's clock runs S seconds ahead of the host's (the
Date header and the created_at of new events), to test a skewed host clock.

Webhooks, sent the way Telnyx does (docs/telnyx-api.md §4-§6): POST
/_admin/webhooks/start {"url" (or "urls": round robin), "key" (PKCS#8 PEM path), "rate" (events/s),
"count", "skip_every" (every Nth event is never sent by webhook: only a poll
finds it)} creates events at that rate (created_at now) and delivers each as
a signed webhook (telnyx-timestamp, telnyx-signature-ed25519 over
"<ts>|<body>"), data.id = the event id, retrying anything but a 2xx with
backoff (0.25 s doubling to 2 s, 2 s timeout, meta.attempt counting).
Optional: "backoffs" [s, ...] (the waits before each retry; after the last,
the sender gives up on the event: "gave_up"), "pick": "random" (each attempt
to a freshly picked receiver, as a load balancer would), "log": true (every
attempt's answer: "answers", [id, attempt, url, code, error or status, in_kafka,
seconds, kind], kind "" for an answer, "timeout", "refused" or "reset" for none).
GET /_admin/webhooks reports created, acked (ids answered 2xx), skipped,
gave_up, pending, attempts and statuses; POST /_admin/webhooks/finish stops creating
events (the retries go on).
Prints "listening on PORT" once ready.
"""
import argparse
import random
import base64
import bisect
import datetime as dt
import heapq
import http.client
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

TYPES = ["portout.status_changed", "portout.foc_date_changed", "portout.new_comment"]
BASE_TIME = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def iso(t):
    if t.tzinfo is not None:  # any offset (the Python SDK sends them) in UTC
        t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_day(t):
    return t.strftime("%Y-%m-%dT00:00:00Z")


STATUSES = ["pending", "authorized", "ported", "rejected", "rejected-pending", "canceled"]


def new_portout(po, n, created):
    """A port-out resource as GET /v2/portouts/{id} returns it (the SDKs'
    PortoutDetails), created by its first event."""
    k = int(po[:8], 16)
    return {"id": po, "record_type": "portout", "status": "pending",
            "phone_numbers": [f"+1555{k % 10000000:07d}"], "carrier_name": "Example Wireless",
            "spid": "123A", "pon": f"PON{k:06d}", "support_key": f"SK-{k:04d}",
            "user_id": "c9e1d2f3-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "end_user_name": f"Subscriber {k}",
            "authorized_name": f"Subscriber {k}", "service_address": f"{k} Main Street",
            "city": "Springfield", "state": "IL", "zip": "62701", "current_carrier": "Telnyx",
            "vendor": "Telnyx", "already_ported": False, "host_messaging": False, "lsr": [],
            "reason": None, "foc_date": iso_day(created + dt.timedelta(days=10)),
            "requested_foc_date": iso_day(created + dt.timedelta(days=10)),
            "created_at": iso(created), "inserted_at": iso(created), "updated_at": iso(created)}


def parse_filter_time(s):
    """A filter's date-time, which must say its zone."""
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("no zone")
    return t.astimezone(dt.timezone.utc)


def parse_iso(s):
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)


def make_event(n, created, bad=False):
    t = TYPES[n % 3]
    eid = f"{n:08x}-0000-4000-8000-{n:012x}"
    po = f"{n % PORTOUTS:08x}-1111-4000-8000-{n % PORTOUTS:012x}"
    if t == "portout.new_comment":
        payload = {"id": f"{n:08x}-2222-4000-8000-000000000000", "portout_id": po,
                   "user_id": "c9e1d2f3-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "comment": f"comment {n} ✓"}
    elif t == "portout.foc_date_changed":
        payload = {"id": po, "foc_date": iso_day(created + dt.timedelta(days=7 + n % 5)),
                   "user_id": "org-1"}
    else:
        payload = {"id": po, "status": ["pending", "authorized", "ported", "rejected-pending"][n // 3 % 4],
                   "phone_numbers": [f"+1555{n % 10000000:07d}"], "carrier_name": "Example Wireless",
                   "spid": "123A", "user_id": "c9e1d2f3-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                   "subscriber_name": None, "attempted_pin": f"pin-{n % 5}-secret"}
    ev = {"id": eid, "event_type": t, "portout_id": po,
          "available_notification_methods": ["webhook", "email"], "payload_status": "completed",
          "payload": payload, "record_type": "portout_event", "created_at": iso(created),
          "updated_at": iso(created + dt.timedelta(seconds=1))}
    if bad:  # authentic but unusable: no port-out id anywhere
        ev["event_type"] = "portout.status_changed"
        del ev["portout_id"]
        ev["payload"] = None
        ev["payload_status"] = "created"
    return ev


WEBHOOK_IDS = "same"


def webhook_id(rest_id):
    """The id a webhook carries: the REST record's, or with --webhook-ids
    differ another one (Telnyx does not document that they are equal)."""
    if WEBHOOK_IDS == "same":
        return rest_id
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "webhook:" + rest_id))


def webhook_body(ev, attempt, url):
    """The webhook delivery of a REST event record (docs/telnyx-api.md §4)."""
    return {"data": {"event_type": ev["event_type"], "id": webhook_id(ev["id"]),
                     "occurred_at": ev["created_at"][:19] + "Z", "payload": ev["payload"],
                     "record_type": "event"},
            "meta": {"attempt": attempt, "delivered_to": url}}


CLOCK_OFFSET = dt.timedelta(0)
PORTOUTS = 97  # events name this many port-outs, n % PORTOUTS


def now():
    """Telnyx's clock."""
    return dt.datetime.now(dt.timezone.utc) + CLOCK_OFFSET


class State:
    def __init__(self, n, api_key, order, faults, visibility_delay_ms=0):
        self.lock = threading.RLock()  # admin handlers reply while holding it
        self.api_key = api_key
        self.order = order
        self.faults = faults
        self.events = []  # sorted by created_at
        self.portouts = {}  # id -> resource: what each port-out's events made it
        self.broken = {}  # id -> how GET /v2/portouts/{id} answers it wrong
        self.calls = []  # the desk's calls (PATCH status, POST comments), in order
        self.limited_calls = []  # those answered 429 by the "limit_call" fault
        self.comments = {}  # port-out id -> its comments
        self.rl_counts = {}  # second -> requests (the "limit" fault)
        self.keys = []
        self.by_id = {}
        self.raw = {}  # marker (JSON text) -> bytes spliced in its place
        self.next_n = 0
        self.requests = 0
        self.lists = 0
        self.stats = {"list": 0, "show": 0, "republish": 0, "inserted": 0, "status": {}}
        self.burst_left = 0
        self.visibility_delay = dt.timedelta(milliseconds=visibility_delay_ms)
        self.list_log = []  # who listed, when (replicas: one poller at a time)
        self.sender = None
        for _ in range(n):
            self.add(BASE_TIME + dt.timedelta(seconds=self.next_n, microseconds=self.next_n % 997))

    def add(self, created, bad=False):
        ev = make_event(self.next_n, created, bad)
        self.apply(ev, self.next_n, created)
        self.next_n += 1
        k = (ev["created_at"], ev["id"])
        i = bisect.bisect(self.keys, k)
        self.keys.insert(i, k)
        self.events.insert(i, ev)
        self.by_id[ev["id"]] = ev
        return ev


    def apply(self, ev, n, created):
        """A live event changes its port-out: status_changed moves the
        status, foc_date_changed the FOC date (updated_at with them)."""
        po = ev.get("portout_id")
        if not po:
            return
        r = self.portouts.setdefault(po, new_portout(po, n, created))
        p = ev.get("payload") or {}
        if ev["event_type"] == "portout.status_changed" and p.get("status") in STATUSES:
            r["status"] = p["status"]
        elif ev["event_type"] == "portout.foc_date_changed" and p.get("foc_date"):
            r["foc_date"] = p["foc_date"]
        else:
            return
        r["updated_at"] = iso(max(created, parse_iso(r["updated_at"]) + dt.timedelta(microseconds=1)))


def error(code, title, detail, pointer="/", parameter=None):
    e = {"code": code, "title": title, "detail": detail, "source": {"pointer": pointer},
         "meta": {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}",
                  "retryable": code in ("10011",)}}
    if parameter:
        e["source"]["parameter"] = parameter
    return {"errors": [e]}


class Handler(BaseHTTPRequestHandler):
    # The headers and the body are two writes: with Nagle's algorithm the
    # body waits for the client's delayed ACK (40 ms an answer).
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def date_time_string(self, timestamp=None):  # the Date header, on Telnyx's clock
        import email.utils
        return email.utils.format_datetime(now(), usegmt=True)

    def send_json(self, status, obj, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in dict(getattr(self, "rl_headers", {}), **(headers or {})).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        with self.state.lock:
            self.state.stats["status"][str(status)] = self.state.stats["status"].get(str(status), 0) + 1

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def admin(self, method, path):
        st = self.state
        if path == "/_admin/stats":
            with st.lock:
                return self.send_json(200, dict(st.stats, requests=st.requests, events=len(st.events)))
        if path == "/_admin/ids":
            with st.lock:
                return self.send_json(200, {"ids": [e["id"] for e in st.events]})
        if path == "/_admin/lists":
            with st.lock:
                return self.send_json(200, {"lists": list(st.list_log)})
        if path == "/_admin/events":
            with st.lock:
                return self.send_json(200, {"events": [{"id": e["id"], "created_at": e["created_at"],
                                                        "bad": "portout_id" not in e}
                                                       for e in st.events]})
        if path == "/_admin/rate":
            with st.lock:  # requests per second, as the "limit" fault counted them
                return self.send_json(200, {"per_second": {str(k): v for k, v in st.rl_counts.items()},
                                            "limited": st.stats.get("limited", 0)})
        if path == "/_admin/portouts" and method == "GET":
            with st.lock:
                return self.send_json(200, {"portouts": list(st.portouts.values())})
        if path == "/_admin/portouts/update" and method == "POST":
            # a change made at Telnyx with no event (the resync finds it)
            req = json.loads(self.read_body() or b"{}")
            with st.lock:
                r = st.portouts.get(req.get("id"))
                if not r:
                    return self.send_json(404, {"error": "no such port-out"})
                for k in ("status", "foc_date"):
                    if k in req:
                        r[k] = req[k]
                if "broken" in req:  # GET /v2/portouts/{id} answers it broken from now on
                    st.broken[r["id"]] = req["broken"]
                r["updated_at"] = iso(max(now(), parse_iso(r["updated_at"]) + dt.timedelta(microseconds=1)))
                return self.send_json(200, {"data": r})
        if path == "/_admin/calls":
            with st.lock:
                return self.send_json(200, {"calls": list(st.calls),
                                            "limited": list(st.limited_calls)})
        if path == "/_admin/portouts/create" and method == "POST":
            # port-outs opened at Telnyx, with no event: {"ages_s": [A, ...]}
            # makes one pending port-out per age, created A seconds ago on
            # Telnyx's clock (the resync finds them)
            req = json.loads(self.read_body() or b"{}")
            out = []
            with st.lock:
                for age in req.get("ages_s", []):
                    created = now() - dt.timedelta(seconds=float(age))
                    k = len(st.portouts) + 0x100000
                    po = f"{k:08x}-3333-4000-8000-{k:012x}"
                    st.portouts[po] = new_portout(po, k, created)
                    out.append(st.portouts[po])
            return self.send_json(200, {"data": out})
        if path == "/_admin/faults" and method == "POST":
            with st.lock:
                st.faults = json.loads(self.read_body() or b"{}")
                st.lists = 0  # "after" counts from here
            return self.send_json(200, {"faults": st.faults})
        if path == "/_admin/insert" and method == "POST":
            req = json.loads(self.read_body() or b"{}")
            with st.lock:
                if "raw_b64" in req:
                    ev = st.add(now())
                    marker = "@@raw-%s@@" % ev["id"]
                    ev["hostile"] = marker
                    st.raw[json.dumps(marker).encode()] = base64.b64decode(req["raw_b64"])
                    st.stats["inserted"] += 1
                    return self.send_json(200, {"id": ev["id"]})
                for _ in range(int(req.get("count", 1))):
                    st.add(now(), bool(req.get("bad")))
                    st.stats["inserted"] += 1
            return self.send_json(200, {"events": len(st.events)})
        if path == "/_admin/webhooks/start" and method == "POST":
            req = json.loads(self.read_body() or b"{}")
            with st.lock:
                if st.sender:
                    st.sender.stop()
                st.sender = Sender(st, req.get("urls") or [req["url"]], req["key"], float(req.get("rate", 100)),
                                   int(req.get("count", 100)), int(req.get("skip_every", 0)),
                                   int(req.get("threads", 8)), req.get("backoffs"),
                                   req.get("pick", "round_robin"), bool(req.get("log")))
            st.sender.start()
            return self.send_json(200, {"started": True})
        if path == "/_admin/webhooks/finish" and method == "POST":
            if st.sender:
                st.sender.finish()
            return self.send_json(200, {"finishing": True})
        if path == "/_admin/webhooks":
            summary = "summary=1" in (urlsplit(self.path).query or "")
            return self.send_json(200, st.sender.report(summary) if st.sender else {})
        return self.send_json(404, {"error": "no such admin path"})

    def every(self, name):
        f = self.state.faults.get(name)
        return f and f.get("every") and self.state.requests % int(f["every"]) == 0

    def handle_any(self, method):
        st = self.state
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path.startswith("/_admin/"):
            return self.admin(method, path)
        with st.lock:
            st.requests += 1
            slow = self.every("slow") and st.faults["slow"].get("ms", 0)
            limited = self.every("rate_limit")
            eb = st.faults.get("error_burst")
            if eb and st.burst_left == 0 and st.requests % int(eb.get("every", 10)) == 0:
                st.burst_left = int(eb.get("count", 1))
            burst = eb and st.burst_left > 0
            if burst:
                st.burst_left -= 1
            fn = st.faults.get("fail_next")
            fail_next = fn and fn.get("count", 0) > 0 and int(fn.get("status", 503))
            if fail_next:
                fn["count"] -= 1
            truncate = self.every("truncate")
            nonjson = self.every("nonjson")
        if slow:
            time.sleep(slow / 1000.0)
        lim = st.faults.get("limit")  # a real limit: per_s requests a second, advertised
        if lim:
            with st.lock:
                sec = int(time.time())
                st.rl_counts[sec] = st.rl_counts.get(sec, 0) + 1
                used = st.rl_counts[sec]
                for old in [k for k in st.rl_counts if k < sec - 120]:
                    del st.rl_counts[old]
            per_s = int(lim.get("per_s", 10))
            self.rl_headers = {"x-ratelimit-limit": str(per_s),
                               "x-ratelimit-remaining": str(max(0, per_s - used)),
                               "x-ratelimit-reset": "1"}
            if used > per_s:
                with st.lock:
                    st.stats["limited"] = st.stats.get("limited", 0) + 1
                h = {"Retry-After": "1"} if lim.get("retry_after") else {}
                return self.send_json(429, error("10011", "Too many requests",
                                                 "You have exceeded the rate limit."), h)
        if self.headers.get("Authorization") != f"Bearer {st.api_key}":
            return self.send_json(401, error("10009", "Authentication failed",
                                             "Could not understand the provided credentials."))
        if limited:
            reset = st.faults["rate_limit"].get("reset", 1)
            return self.send_json(429, error("10011", "Too many requests",
                                             "You have exceeded the rate limit."),
                                  {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0",
                                   "x-ratelimit-reset": str(reset)})
        if burst:
            status = int(eb.get("status", 503))
            return self.send_json(status, error("10007", "Unexpected error", "Try again later."))
        if fail_next:
            return self.send_json(fail_next, error("10007", "Conflict", "Try again later."))

        parts = path.rstrip("/").split("/")
        # the desk's calls: PATCH /v2/portouts/{id}/{authorized|rejected-pending},
        # POST and GET /v2/portouts/{id}/comments
        if parts[:3] == ["", "v2", "portouts"] and len(parts) == 5 and parts[3] != "events" and (
                (method == "PATCH" and parts[4] in ("authorized", "rejected-pending"))
                or (parts[4] == "comments" and method in ("POST", "GET"))):
            return self.portout_action(method, parts[3], parts[4])
        # /v2/portouts and /v2/portouts/{id}: the port-out resource
        if parts[:3] == ["", "v2", "portouts"] and method == "GET" and (
                len(parts) == 3 or (len(parts) == 4 and parts[3] != "events")):
            with st.lock:
                st.stats["portout_gets"] = st.stats.get("portout_gets", 0) + 1
            if len(parts) == 3:
                return self.list_portouts(parse_qs(url.query, keep_blank_values=True))
            with st.lock:
                r = st.portouts.get(parts[3])
                r = dict(r) if r else None
            if not r:
                return self.send_json(404, error("10005", "Resource not found",
                                                 "The requested resource or URL could not be found."))
            with st.lock:
                broken = st.broken.get(r["id"])  # a bad answer for this one (issue 30, finding 6)
            if broken == "updated_at_null":
                r["updated_at"] = None
            elif broken == "updated_at_text":
                r["updated_at"] = "yesterday"
            elif broken == "bad_id":
                r["id"] = "../not an id"
            elif broken == "other_id":
                r["id"] = "00000000-0000-4000-8000-0000000000ff"
            elif broken == "no_data":
                return self.send_json(200, {"meta": {}})
            return self.send_json(200, {"data": r})
        # /v2/portouts/events[/{id}[/republish]]
        if parts[:4] != ["", "v2", "portouts", "events"]:
            return self.send_json(404, error("10005", "Resource not found", "No such path."))
        mangle = None
        if truncate:
            mangle = "truncate"
        elif nonjson:
            mangle = "nonjson"
        if len(parts) == 4 and method == "GET":
            return self.list_events(parse_qs(url.query, keep_blank_values=True), mangle)
        if len(parts) == 5 and method == "GET":
            with st.lock:
                st.stats["show"] += 1
                ev = st.by_id.get(parts[4])
            if not ev:
                return self.send_json(404, error("10005", "Resource not found",
                                                 "The requested resource or URL could not be found."))
            return self.reply(200, {"data": ev}, mangle)
        if len(parts) == 6 and parts[5] == "republish" and method == "POST":
            self.read_body()
            with st.lock:
                ev = st.by_id.get(parts[4])
                if ev:
                    st.stats["republish"] += 1
            if not ev:
                return self.send_json(404, error("10005", "Resource not found",
                                                 "The requested resource or URL could not be found."))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.send_json(404, error("10005", "Resource not found", "No such path."))

    def reply(self, status, obj, mangle):
        body = json.dumps(obj).encode()
        for marker, raw in self.state.raw.items():
            body = body.replace(marker, raw)
        if mangle == "truncate":
            body = body[: len(body) // 2]
        elif mangle == "nonjson":
            self.send_response(200)
            html = b"<html><body>Bad gateway, sort of</body></html>"
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)
            return None
        return self.send_json(status, None, raw=body)

    def list_events(self, q, mangle):
        st = self.state

        def one(name):
            v = q.get(name)
            return v[0] if v else None

        try:
            number = int(one("page[number]") or 1)
            size = int(one("page[size]") or 20)
        except ValueError:
            return self.send_json(422, error("10015", "Bad Request", "page must be an integer",
                                             parameter="page"))
        if number < 1 or size < 1 or size > 250:
            return self.send_json(422, error("10015", "Bad Request",
                                             "page[size] must be between 1 and 250",
                                             parameter="page[size]"))
        et, po = one("filter[event_type]"), one("filter[portout_id]")
        gte, lte = one("filter[created_at][gte]"), one("filter[created_at][lte]")
        if et is not None and et not in TYPES:
            return self.send_json(422, error("10015", "Bad Request",
                                             f"filter[event_type] must be one of {TYPES}",
                                             parameter="filter[event_type]"))
        try:
            gte_t = parse_filter_time(gte) if gte else None
            lte_t = parse_filter_time(lte) if lte else None
        except ValueError:
            return self.send_json(422, error("10015", "Bad Request",
                                             "invalid date-time (with a zone: Z or +hh:mm)",
                                             parameter="filter[created_at]"))
        with st.lock:
            st.lists += 1
            st.stats["list"] += 1
            st.list_log.append({"t": time.time(), "ua": self.headers.get("User-Agent", "")})
            ins = st.faults.get("insert_while_paging")
            if ins and st.lists == int(ins.get("after", 1)):
                # new events inside the listed period, at its start
                lo = gte_t or BASE_TIME
                for k in range(int(ins.get("count", 1))):
                    st.add(lo + dt.timedelta(microseconds=1 + k))
                    st.stats["inserted"] += 1
            # created_at strings share one UTC format, so they sort as times:
            # the period is a slice found by bisection.
            lo = bisect.bisect_left(st.keys, (iso(gte_t), "")) if gte_t else 0
            hi = bisect.bisect_right(st.keys, (iso(lte_t), "\uffff")) if lte_t else len(st.keys)
            if st.visibility_delay:  # not listed until a while after created_at
                seen_until = now() - st.visibility_delay
                hi = min(hi, bisect.bisect_right(st.keys, (iso(seen_until), "\uffff")))
            sel = [e for e in st.events[lo:hi]
                   if (et is None or e["event_type"] == et) and (po is None or e["portout_id"] == po)]
        # The list's order is not documented: oldest first (what Telnyx's
        # samples show), newest first, or none (a shuffle that a set of
        # events keeps from page to page, as a hash order would).
        if st.order == "desc":
            sel.reverse()
        elif st.order == "random":
            random.Random(len(sel)).shuffle(sel)
        total = len(sel)
        pages = (total + size - 1) // size
        # A broken or hostile API (issue 30, finding 7): "ignore_page" serves
        # page 1 whatever was asked, saying so in meta ("meta": true) or with
        # no paging meta at all; "oversize" sends more events than page[size].
        if st.faults.get("dense"):  # a 1 MB page of {}: cheap to send, dear to parse
            n = int(st.faults["dense"].get("count", 300000))
            body = ("{\"data\":[" + ",".join(["{}"] * n) + "]}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        bad = st.faults.get("ignore_page")
        if st.faults.get("oversize"):
            size = size * int(st.faults["oversize"].get("times", 2))
        if bad:
            number = 1
        data = sel[(number - 1) * size: number * size]
        if bad and not bad.get("meta", True):
            return self.reply(200, {"data": data}, mangle)
        meta = {"total_pages": pages, "total_results": total, "page_number": number,
                "page_size": size}
        if st.faults.get("float_meta"):  # 4.0, not 4: JSON numbers all the same
            meta = {k: float(v) for k, v in meta.items()}
        return self.reply(200, {"data": data, "meta": meta}, mangle)

    def list_portouts(self, q):
        """GET /v2/portouts: the SDKs' PortoutListParams (filter[...] in deepObject
        style; a list as filter[status_in][]=a, repeated, or comma-separated)."""
        st = self.state

        def values(name):
            out = []
            for v in q.get(name, []) + q.get(name + "[]", []):
                out += [x for x in v.split(",") if x]
            return out

        try:
            number = int((q.get("page[number]") or ["1"])[0])
            size = int((q.get("page[size]") or ["20"])[0])
        except ValueError:
            return self.send_json(422, error("10015", "Bad Request", "page must be an integer",
                                             parameter="page"))
        if number < 1 or size < 1 or size > 250:
            return self.send_json(422, error("10015", "Bad Request",
                                             "page[size] must be between 1 and 250",
                                             parameter="page[size]"))
        want = set(values("filter[status_in]") + values("filter[status]"))
        bad = want - set(STATUSES)
        if bad:
            return self.send_json(422, error("10015", "Bad Request",
                                             f"filter[status_in] must be among {STATUSES}",
                                             parameter="filter[status_in]"))
        eq = {k: (q.get(f"filter[{k}]") or [None])[0]
              for k in ("carrier_name", "spid", "pon", "support_key", "phone_number")}
        with st.lock:
            st.stats["portout_lists"] = st.stats.get("portout_lists", 0) + 1
            st.stats["last_portout_query"] = urlsplit(self.path).query
            sel = [dict(r) for r in st.portouts.values()
                   if (not want or r["status"] in want)
                   and all(v is None or (v in r["phone_numbers"] if k == "phone_number" else r.get(k) == v)
                           for k, v in eq.items())]
            for r in sel:  # broken in a list too, where a list can be
                b = st.broken.get(r["id"])
                if b in ("updated_at_null", "updated_at_text", "bad_id"):
                    r["updated_at"] = None if b == "updated_at_null" else r["updated_at"]
                    r["updated_at"] = "yesterday" if b == "updated_at_text" else r["updated_at"]
                    r["id"] = "../not an id" if b == "bad_id" else r["id"]
        sel.sort(key=lambda r: (r["created_at"], r["id"]))
        total = len(sel)
        return self.send_json(200, {"data": sel[(number - 1) * size: number * size],
                                    "meta": {"total_pages": (total + size - 1) // size,
                                             "total_results": total, "page_number": number,
                                             "page_size": size}})

    def portout_action(self, method, po, what):
        """The SDKs' client.portouts.updateStatus (PATCH, {"reason"}) and
        client.portouts.comments.create (POST, {"body"}). Every call is
        logged (/_admin/calls). The "hang_call" fault {"count": N, "ms": MS,
        "drop": false} carries out the next N calls and then holds the
        answer MS ms (drop: closes the connection with no answer instead):
        a call whose answer is lost, its fate unknown to the caller."""
        st = self.state
        if method == "GET":
            with st.lock:
                if po not in st.portouts:
                    return self.send_json(404, error("10005", "Resource not found",
                                                     "The requested resource or URL could not be found."))
                return self.send_json(200, {"data": list(st.comments.get(po, [])),
                                            "meta": {"total_pages": 1, "page_number": 1}})
        raw = self.read_body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        with st.lock:
            lc = st.faults.get("limit_call")
            if lc and lc.get("count", 0) > 0:  # refused by the limiter: not carried out
                lc["count"] -= 1
                st.limited_calls.append({"method": method, "portout_id": po, "action": what,
                                         "at": time.time()})
                h = {"Retry-After": str(lc.get("retry_after", 1))}
                return self.send_json(429, error("10011", "Too many requests",
                                                 "You have exceeded the rate limit."), h)
            st.calls.append({"method": method, "portout_id": po, "action": what,
                             "body": body, "raw": raw.decode("utf-8", "replace"),
                             "at": time.time()})
            r = st.portouts.get(po)
            hang = st.faults.get("hang_call")
            held = 0
            drop = False
            if hang and hang.get("count", 0) > 0:
                hang["count"] -= 1
                held = int(hang.get("ms", 0))
                drop = bool(hang.get("drop"))
            if not r:
                status, answer = 404, error("10005", "Resource not found",
                                            "The requested resource or URL could not be found.")
            elif not isinstance(body, dict) or set(body) != ({"body"} if what == "comments" else {"reason"}) \
                    or not isinstance(body.get("body" if what == "comments" else "reason"), str):
                status, answer = 422, error("10015", "Bad Request", "The request body is not what the API takes.",
                                            pointer="/")
            elif what == "comments":
                c = {"id": str(uuid.uuid4()), "body": body["body"], "created_at": iso(now()),
                     "user_id": "c9e1d2f3-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "portout_id": po,
                     "record_type": "portout_comment"}
                st.comments.setdefault(po, []).append(c)
                status, answer = 201, {"data": c}
            elif r["status"] != "pending":
                status, answer = 422, error("10015", "Bad Request",
                                            f"The port-out is {r['status']}: its status cannot be changed.",
                                            pointer="/status")
            else:
                r["status"] = what
                r["reason"] = body["reason"] or None
                r["updated_at"] = iso(max(now(), parse_iso(r["updated_at"]) + dt.timedelta(microseconds=1)))
                status, answer = 200, {"data": dict(r)}
        if held:
            time.sleep(held / 1000.0)
        if drop:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return None
        return self.send_json(status, answer)

    def do_GET(self):
        self.handle_any("GET")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_POST(self):
        self.handle_any("POST")


class Sender:
    """Creates events at a rate and delivers them as signed webhooks, retrying
    until a 2xx, as Telnyx does."""

    def __init__(self, state, urls, key_path, rate, count, skip_every, threads,
                 backoffs=None, pick="round_robin", log=False):
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        with open(key_path, "rb") as f:
            self.key = load_pem_private_key(f.read(), None)
        self.st, self.urls, self.rate, self.count = state, urls, rate, count
        self.skip_every, self.threads = skip_every, threads
        self.backoffs, self.pick, self.log = backoffs, pick, log
        self.rng = random.Random(7)
        self.gave_up, self.answers = [], []
        self.lock = threading.Condition()
        self.queue = []  # (due, seq, event, attempt)
        self.seq = 0
        self.created = 0
        self.acked, self.skipped = [], []
        self.attempts, self.status = 0, {}
        self.inflight = 0  # taken from the queue, not answered yet
        self.stopping = False
        self.finishing = False
        self.done_creating = False

    def start(self):
        threading.Thread(target=self.create_loop, daemon=True).start()
        for _ in range(self.threads):
            threading.Thread(target=self.deliver_loop, daemon=True).start()

    def stop(self):
        with self.lock:
            self.stopping = True
            self.lock.notify_all()

    def finish(self):
        """No new events; the retries of those sent go on until acked."""
        self.finishing = True

    def create_loop(self):
        t0 = time.monotonic()
        for n in range(self.count):
            if self.stopping or self.finishing:
                break
            delay = t0 + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self.st.lock:
                ev = self.st.add(now())
                self.st.stats["inserted"] += 1
            with self.lock:
                self.created += 1
                if self.skip_every and self.created % self.skip_every == 0:
                    self.skipped.append(ev["id"])
                    continue
                self.push(time.monotonic(), ev, 1)
        with self.lock:
            self.done_creating = True
            self.lock.notify_all()

    def push(self, due, ev, attempt):
        self.seq += 1
        heapq.heappush(self.queue, (due, self.seq, ev, attempt))
        self.lock.notify()

    def deliver_loop(self):
        conns = {}
        while True:
            with self.lock:
                while not self.stopping:
                    if self.queue and self.queue[0][0] <= time.monotonic():
                        break
                    self.lock.wait(0.05 if self.queue else 0.2)
                if self.stopping:
                    return
                _, seq, ev, attempt = heapq.heappop(self.queue)
                self.inflight += 1
            # round robin over the receivers, or a random one, as a load balancer would
            if self.pick == "random":
                with self.lock:
                    url = self.rng.choice(self.urls)
            else:
                url = self.urls[(seq + attempt) % len(self.urls)]
            u = urlsplit(url)
            conn = conns.get(url)
            body = json.dumps(webhook_body(ev, attempt, url)).encode()
            ts = str(int(time.time()))
            sig = base64.b64encode(self.key.sign(ts.encode() + b"|" + body)).decode()
            code, answer, kind = 0, b"", ""
            t_send = time.monotonic()
            try:
                if conn is None:
                    conn = conns[url] = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=2.0)
                conn.request("POST", u.path, body, {"Content-Type": "application/json",
                                                       "telnyx-timestamp": ts,
                                                       "telnyx-signature-ed25519": sig})
                resp = conn.getresponse()
                answer = resp.read()
                code = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conns.pop(url, None)
            except (OSError, http.client.HTTPException) as exc:
                # a timeout is the receiver breaking its word (it answers
                # within its ack timeout, under Telnyx's 2 s); a refused or
                # reset connection is a receiver gone (killed, restarting)
                kind = ("timeout" if isinstance(exc, TimeoutError) or "timed out" in str(exc)
                        else "refused" if isinstance(exc, ConnectionRefusedError) else "reset")
                if conn is not None:
                    conn.close()
                conns.pop(url, None)
            took = time.monotonic() - t_send
            with self.lock:
                self.inflight -= 1
                self.attempts += 1
                self.status[str(code)] = self.status.get(str(code), 0) + 1
                if self.log:
                    try:
                        a = json.loads(answer or b"{}")
                    except ValueError:
                        a = {}
                    self.answers.append([ev["id"], attempt, url, code, a.get("error") or a.get("status"),
                                         a.get("in_kafka"), round(took, 4), kind])
                if 200 <= code < 300:
                    self.acked.append(ev["id"])
                elif self.backoffs is not None and attempt > len(self.backoffs):
                    self.gave_up.append(ev["id"])
                else:
                    backoff = (self.backoffs[attempt - 1] if self.backoffs is not None
                               else min(2.0, 0.25 * 2 ** (attempt - 1)))
                    self.push(time.monotonic() + backoff, ev, attempt + 1)

    def report(self, summary=False):
        with self.lock:
            if summary:
                return {"created": self.created, "acked_count": len(self.acked),
                        "gave_up_count": len(self.gave_up),
                        "pending": len(self.queue), "attempts": self.attempts,
                        "status": dict(self.status), "inflight": self.inflight,
                        "done": self.done_creating and not self.queue and not self.inflight}
            return {"created": self.created, "acked": list(self.acked),
                    "skipped": list(self.skipped), "gave_up": list(self.gave_up),
                    "answers": list(self.answers), "pending": len(self.queue),
                    "attempts": self.attempts, "status": dict(self.status),
                    "done": self.done_creating and not self.queue and not self.inflight}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--api-key", default="test-key")
    ap.add_argument("--order", choices=["asc", "desc", "random"], default="asc")
    ap.add_argument("--webhook-ids", choices=["same", "differ"], default="same")
    ap.add_argument("--faults", default="{}")
    ap.add_argument("--visibility-delay-ms", type=int, default=0)
    ap.add_argument("--clock-offset-s", type=int, default=0)
    ap.add_argument("--portouts", type=int, default=97)
    a = ap.parse_args()
    global CLOCK_OFFSET, PORTOUTS, WEBHOOK_IDS
    WEBHOOK_IDS = a.webhook_ids
    PORTOUTS = a.portouts
    CLOCK_OFFSET = dt.timedelta(seconds=a.clock_offset_s)
    Handler.state = State(a.events, a.api_key, a.order, json.loads(a.faults),
                          a.visibility_delay_ms)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    print(f"listening on {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

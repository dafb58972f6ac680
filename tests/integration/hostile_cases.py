#!/usr/bin/env python3
"""Writes the hostile webhook bodies of test_hostile.sh, one file per case,
as exact bytes, and prints "NAME EXPECTED" lines: the answer each must get
(200 delivered, 200 dead_lettered, or an HTTP status).

  hostile_cases.py DIR RUN_ID
"""
import sys

out, run = sys.argv[1], sys.argv[2]


def event(n, extra=b"", data_extra=b"", top_extra=b"", ident=None, pid=b'"P-h"'):
    ident = ident if ident is not None else f'"h-{run}-{n}"'.encode()
    return (b'{"data":{"record_type":"event","event_type":"portout.status_changed","id":' + ident +
            b',"occurred_at":"2026-03-05T12:30:45Z","payload":{"id":' + pid +
            b',"status":"submitted"' + extra + b"}" + data_extra + b'},"meta":{"attempt":1,'
            b'"delivered_to":"https://example.com/hook"}' + top_extra + b"}")


cases = {
    # What json-c reads but would not give back as sent.
    "utf8-overlong": (event(1, ident=b'"a\xc0\xaf"'), "dead_lettered"),
    "utf8-surrogate-bytes": (event(2, extra=b',"note":"\xed\xa0\x80"'), "dead_lettered"),
    "utf8-above-10ffff": (event(3, extra=b',"note":"\xf4\x90\x80\x80"'), "dead_lettered"),
    "utf8-truncated": (event(4, extra=b',"note":"\xe2\x82"'), "dead_lettered"),
    "utf8-overlong-nul": (event(5, extra=b',"note":"a\xc0\x80b"'), "dead_lettered"),
    "nan": (event(6, extra=b',"n":NaN'), "dead_lettered"),
    "infinity": (event(7, extra=b',"n":-Infinity'), "dead_lettered"),
    "int-beyond-uint64": (event(8, extra=b',"n":18446744073709551616'), "dead_lettered"),
    "int-10e400-digits": (event(9, extra=b',"n":1' + b"0" * 400), "dead_lettered"),
    "int-below-int64": (event(10, extra=b',"n":-9223372036854775809'), "dead_lettered"),
    "minus-zero": (event(11, extra=b',"n":-0'), "dead_lettered"),
    "lone-surrogate": (event(12, extra=b',"note":"x\\ud800y"'), "dead_lettered"),
    "lone-low-surrogate": (event(13, extra=b',"note":"\\udc00"'), "dead_lettered"),
    "raw-control-char": (event(14, extra=b',"note":"a\x01b"'), "dead_lettered"),
    # Silent collapse: duplicate names.
    "duplicate-data-id": (event(15, data_extra=b',"id":"other"'), "dead_lettered"),
    "duplicate-event-type": (event(16, data_extra=b',"event_type":"portout.new_comment"'), "dead_lettered"),
    "duplicate-payload-id": (event(17, extra=b',"id":"P-other"'), "dead_lettered"),
    "duplicate-escaped-name": (event(18, extra=b',"\\u0069d":"P-other"'), "dead_lettered"),
    "two-data-objects": (event(19, top_extra=b',"data":{"id":"second"}'), "dead_lettered"),
    # Structure.
    "deep-nesting": (event(20, extra=b',"deep":' + b"[" * 200 + b"]" * 200), "dead_lettered"),
    "bom": (b"\xef\xbb\xbf" + event(21), "dead_lettered"),
    "not-an-object": (b'[1,2,3]', "dead_lettered"),
    "trailing-garbage": (event(22) + b" x", "dead_lettered"),
    "empty": (b"", "dead_lettered"),
    # Authentic, valid, and kept exactly.
    "meta-clash": (event(23, data_extra=b',"a":1,"meta_a":2', top_extra=b""), "delivered"),
    "nul-escape": (event(24, extra=b',"note":"a\\u0000b\\u2028\\ud83d\\ude00"'), "delivered"),
    "big-doubles": (event(25, extra=b',"x":1e400,"y":-0.0,"z":18446744073709551615'), "delivered"),
    "good": (event(26), "delivered"),
    # Sizes: over input.max_event_bytes (65536), and under it but over the
    # status topic's max.message.bytes (20000) and the dead-letter topic's
    # (30000): dead-lettered as a prefix with the whole one's hash.
    "over-max-event-bytes": (event(27, extra=b',"pad":"' + b"x" * 70000 + b'"'), "413"),
    "over-topic-limit": (event(28, extra=b',"pad":"' + b"y" * 40000 + b'"'), "dead_lettered"),
}
for name, (body, want) in cases.items():
    with open(f"{out}/{name}.json", "wb") as f:
        f.write(body)
    print(name, want)

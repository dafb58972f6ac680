#!/usr/bin/env python3
"""An outside validator for what the bridge writes: Python's own json module,
made strict (RFC 8259 and I-JSON, RFC 7493): the bytes must be UTF-8 (Python's
decoder refuses overlong forms, encoded surrogates and code points above
U+10FFFF), NaN and Infinity are refused, a member name used twice is refused,
and a lone surrogate escape is refused.

  strict_json.py lines FILE...             every non-empty line of each file
  strict_json.py bodies FILE...            each file is one JSON document
  strict_json.py utf8 FILE...              each file is valid UTF-8 (a command's
                                           messages to a terminal)
  strict_json.py kafka BOOTSTRAP PREFIX    every record of every topic whose
                                           name starts with PREFIX (values,
                                           keys and headers), read with
                                           confluent-kafka

Prints a JSON summary; exit 1 if anything is not strict JSON in UTF-8.
"""
import base64
import json
import sys
import uuid


class NotStrict(ValueError):
    pass


def _pairs(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise NotStrict(f"member {k!r} more than once")
        seen.add(k)
    return dict(pairs)


def _const(name):
    raise NotStrict(f"{name} is not JSON")


def _no_surrogates(v):
    if isinstance(v, str):
        v.encode("utf-8")  # a lone surrogate cannot be encoded
    elif isinstance(v, dict):
        for k, x in v.items():
            _no_surrogates(k)
            _no_surrogates(x)
    elif isinstance(v, list):
        for x in v:
            _no_surrogates(x)


def loads(b):
    """Parses bytes as strict JSON in UTF-8, or raises."""
    text = b.decode("utf-8")  # strict
    v = json.loads(text, object_pairs_hook=_pairs, parse_constant=_const)
    try:
        _no_surrogates(v)
    except UnicodeEncodeError as e:
        raise NotStrict(f"lone surrogate: {e}") from None
    return v


def check(what, b, bad):
    try:
        return loads(b)
    except (ValueError, UnicodeDecodeError) as e:
        bad.append({"where": what, "error": str(e), "bytes": b[:120].decode("utf-8", "backslashreplace")})
        return None


def kafka(bootstrap, prefix):
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"strict-{uuid.uuid4()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    md = c.list_topics(timeout=10)
    topics = sorted(t for t in md.topics if t.startswith(prefix))
    parts = []
    for t in topics:
        for p in md.topics[t].partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
            if hi > lo:
                parts.append((t, p, lo, hi))
    c.assign([TopicPartition(t, p, lo) for t, p, lo, _ in parts])
    want = {(t, p): hi for t, p, _, hi in parts}
    bad, summary = [], {"topics": {}, "records": 0, "dead_letters": [], "events": []}
    while want:
        m = c.poll(5)
        if m is None:
            break
        if m.error():
            raise KafkaException(m.error())
        t, p = m.topic(), m.partition()
        where = f"{t}[{p}]@{m.offset()}"
        summary["records"] += 1
        summary["topics"][t] = summary["topics"].get(t, 0) + 1
        hdrs = {}
        for k, v in m.headers() or []:
            try:
                hdrs[k] = (v or b"").decode("utf-8")
            except UnicodeDecodeError as e:
                bad.append({"where": f"{where} header {k}", "error": str(e)})
        if m.key() is not None:
            try:
                m.key().decode("utf-8")
            except UnicodeDecodeError as e:
                bad.append({"where": f"{where} key", "error": str(e)})
        v = check(where, m.value() or b"", bad)
        if t.endswith(".dlq"):
            dl = {"error": hdrs.get("pb_error"), "stage": hdrs.get("pb_stage"),
                  "encoding": hdrs.get("pb_value_encoding"), "cut": hdrs.get("pb_original_bytes"),
                  "ingest": hdrs.get("pb_ingestpath")}
            if dl["encoding"] == "json_base64":
                try:
                    dl["raw"] = base64.b64decode(v["raw_base64"], validate=True).decode("utf-8", "backslashreplace")
                except Exception as e:  # noqa: BLE001
                    bad.append({"where": where, "error": f"raw_base64: {e}"})
            summary["dead_letters"].append(dl)
        elif v is not None:
            for a in ("specversion", "id", "source", "type", "subject", "time", "data"):
                if a not in v:
                    bad.append({"where": where, "error": f"no CloudEvents attribute {a}"})
            summary["events"].append(v.get("id"))
        if m.offset() + 1 >= want.get((t, p), 0):
            want.pop((t, p), None)
    c.close()
    if want:
        bad.append({"where": "kafka", "error": f"not read to the end: {sorted(want)}"})
    return summary, bad


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    bad, summary = [], {}
    if mode == "lines":
        n = 0
        for f in args:
            for i, line in enumerate(open(f, "rb").read().split(b"\n"), 1):
                if line.strip():
                    n += 1
                    check(f"{f}:{i}", line, bad)
        summary = {"lines": n}
    elif mode == "bodies":
        for f in args:
            check(f, open(f, "rb").read(), bad)
        summary = {"bodies": len(args)}
    elif mode == "utf8":
        for f in args:
            try:
                open(f, "rb").read().decode("utf-8")
            except UnicodeDecodeError as e:
                bad.append({"where": f, "error": str(e)})
        summary = {"files": len(args)}
    elif mode == "kafka":
        summary, bad = kafka(args[0], args[1])
    summary["not_strict"] = bad[:20]
    summary["not_strict_count"] = len(bad)
    print(json.dumps(summary))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reads topics the way a Python consumer of the bridge would: confluent-kafka
(its own bundled librdkafka) for the records, the official `cloudevents` SDK
(2.2.0) for the CloudEvents Kafka binding. Prints one JSON line per record:
the event's attributes and data as the SDK gives them, for each decoder.

  ce_consumer.py BOOTSTRAP TOPIC...
Each line: {"topic", "offset", "auto": {...} (from_kafka_event, the SDK's
mode detection), "structured": {...} or null, "binary": {...} or null,
"headers": [...]} where a decoder that raised gives {"error": "..."}.
"""
import json
import sys

from cloudevents.core.bindings import kafka as cek
from cloudevents.core.formats.json import JSONFormat
from confluent_kafka import Consumer, TopicPartition

bootstrap, topics = sys.argv[1], sys.argv[2:]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "pb-ce-consumer",
              "enable.auto.commit": False, "enable.partition.eof": True})
parts = []
for t in topics:
    md = c.list_topics(t, timeout=10).topics[t]
    if md.error:
        sys.exit(f"{t}: {md.error}")
    parts += [TopicPartition(t, p, 0) for p in md.partitions]
c.assign(parts)
left = {(p.topic, p.partition) for p in parts}


def view(decode, msg):
    try:
        ev = decode(msg)
    except Exception as e:  # the SDK's verdict, reported
        return {"error": f"{type(e).__name__}: {e}"}
    attrs = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
             for k, v in ev.get_attributes().items()}
    data = ev.get_data()
    if isinstance(data, (bytes, bytearray)):
        data = json.loads(data)
    return {"attributes": attrs, "data": data}


fmt = JSONFormat()
while left:
    m = c.poll(10)
    if m is None:
        sys.exit(f"no record within 10 s; waiting for {sorted(left)}")
    if m.error():
        if m.error().code() == -191:  # _PARTITION_EOF
            left.discard((m.topic(), m.partition()))
            continue
        sys.exit(str(m.error()))
    headers = {k: v for k, v in (m.headers() or [])}
    msg = cek.KafkaMessage(headers=headers, key=m.key(), value=m.value())
    print(json.dumps({
        "topic": m.topic(), "offset": m.offset(),
        "headers": sorted(headers),
        "auto": view(cek.from_kafka_event, msg),
        "structured": view(lambda x: cek.from_structured(x, fmt), msg),
        "binary": view(lambda x: cek.from_binary(x, fmt), msg),
    }), flush=True)
c.close()

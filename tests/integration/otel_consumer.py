"""A Kafka consumer instrumented with OpenTelemetry, as a user's would be:
confluent-kafka wrapped by opentelemetry-instrumentation-confluent-kafka,
spans kept by the OpenTelemetry SDK's in-memory exporter. Reads TOPIC from
the beginning until N records, and prints one JSON line per record:

  {"id": ce_id, "traceparent": header or null,
   "process_links": [[trace_id, span_id], ...],   # the instrumentation's span
   "child": [trace_id, parent_span_id] or null}   # a span started in the
                                                  # context OpenTelemetry's
                                                  # W3C propagator extracted

No parsing of traceparent here: OpenTelemetry does it.
usage: otel_consumer.py BOOTSTRAP TOPIC N [TIMEOUT_S]
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.confluent_kafka import ConfluentKafkaInstrumentor
from opentelemetry.instrumentation.confluent_kafka.utils import _kafka_getter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

bootstrap, topic, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("test-consumer")

consumer = ConfluentKafkaInstrumentor().instrument_consumer(
    Consumer({"bootstrap.servers": bootstrap, "group.id": "otel-" + uuid.uuid4().hex,
              "auto.offset.reset": "earliest", "enable.auto.commit": False}),
    tracer_provider=provider)
consumer.subscribe([topic])

hex_id = lambda n, w: format(n, "0%dx" % w)
out, deadline = [], time.time() + timeout
while len(out) < want and time.time() < deadline:
    msg = consumer.poll(1.0)
    if msg is None or msg.error():
        continue
    headers = dict((k, v.decode()) for k, v in (msg.headers() or []))
    # What a handler does: continue the trace the record carries.
    ctx = propagate.extract(msg.headers(), getter=_kafka_getter)
    with tracer.start_as_current_span("handle", context=ctx) as span:
        sc, parent = span.get_span_context(), span.parent
    out.append({"id": headers.get("ce_id"), "traceparent": headers.get("traceparent"),
                "child": [hex_id(sc.trace_id, 32), hex_id(parent.span_id, 16)] if parent else None,
                "offset": msg.offset()})
consumer.close()  # ends the instrumentation's last span

# The instrumentation's "<topic> process" spans, in poll order.
process = [s for s in exporter.get_finished_spans() if s.name == topic + " process"]
for rec, span in zip(out, process):
    rec["process_links"] = [[hex_id(l.context.trace_id, 32), hex_id(l.context.span_id, 16)]
                            for l in span.links]
    rec["process_offset"] = span.attributes.get("messaging.kafka.message.offset",
                                                span.attributes.get("messaging.kafka.offset"))
for rec in out:
    print(json.dumps(rec))
if len(out) < want:
    sys.exit("only %d of %d records within %ss" % (len(out), want, timeout))

#!/usr/bin/env python3
"""Where a request's CPU goes, by stage, from a perf profile with call graphs
(bench/webhook.sh with PB_BENCH_PERF=FILE). Each sample goes to the first
stage, in the order below, that any frame of its stack belongs to; the rest
by thread (librdkafka's) or by what the leaf is (kernel, malloc, locks).
Measures, never fails.
    bench/perf-breakdown.py FILE [REQUESTS]
With REQUESTS (answered during the profile), the share is also turned into
microseconds of CPU per request: samples / frequency / REQUESTS."""
import re
import subprocess
import sys
from collections import Counter

# (stage, frame patterns): the first stage a sample's stack reaches.
STAGES = [
    ("signature (libsodium Ed25519)", r"crypto_sign|pb_verify_message|ge25519|sc25519|crypto_hash_sha512"),
    ("header checks (timestamp, base64)", r"pb_verify_headers|signature_headers"),
    ("strict JSON check", r"pb_json_check"),
    ("normalize (spans, envelope write)", r"pb_normalize|normalize_fast|json_tokener|pb_jspan"),
    ("index / dedupe", r"pb_index_|pb_dedupe|pb_idmap|flight_get"),
    ("trace context", r"pb_trace"),
    ("produce (record, copy, enqueue)", r"pb_producer_send|rd_kafka_produce|rd_kafka_producev|msg_new"),
    ("delivery reports", r"dr_cb|poll_main|rd_kafka_poll"),
    ("answer (body, queue)", r"answer_|on_done|MHD_queue_response|MHD_create_response"),
    ("metrics", r"pb_metrics"),
    ("logging", r"pb_log|vfprintf"),
]
THREAD_STAGES = [("librdkafka threads (broker, main)", r"^rdk:"),
                 ("HTTP listener thread (sockets, wake-ups, parsing)", r"^MHD")]
LEAF_STAGES = [
    ("locks and hand-offs (futex, scheduler)", r"futex|pthread_mutex|pthread_cond|__lll_lock|finish_task_switch|schedule"),
    ("HTTP (libmicrohttpd, socket I/O)", r"MHD_|mhd_|tcp_|sock_|sendmsg|recvmsg|recvfrom|sendto|epoll|ip_|__sys_"),
    ("malloc / free", r"malloc|free|_int_|tcache"),
]


def main():
    path = sys.argv[1]
    reqs = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,period,ip,sym"],
                         capture_output=True, text=True, errors="replace").stdout
    freq = 999
    hdr = subprocess.run(["perf", "report", "-i", path, "--header-only"], capture_output=True,
                         text=True, errors="replace").stdout
    m = re.search(r"sample_freq\s*=\s*(\d+)", hdr)
    if m:
        freq = int(m.group(1))
    counts, total = Counter(), 0
    for block in out.split("\n\n"):
        lines = [l for l in block.strip().split("\n") if l.strip()]
        if not lines:
            continue
        comm = lines[0].split()[0]
        frames = " ".join(l.split(None, 1)[1] if len(l.split(None, 1)) > 1 else "" for l in lines[1:])
        leaf = lines[1] if len(lines) > 1 else ""
        total += 1
        stage = next((s for s, p in STAGES if re.search(p, frames)), None)
        stage = stage or next((s for s, p in THREAD_STAGES if re.search(p, comm)), None)
        stage = stage or next((s for s, p in LEAF_STAGES if re.search(p, leaf)), None)
        counts[stage or "other"] += 1
    print(f"{total} samples at {freq} Hz" + (f", {reqs:.0f} requests" if reqs else ""))
    print("| stage | share | CPU per request |" if reqs else "| stage | share |")
    print("|---|---|---|" if reqs else "|---|---|")
    for stage, n in counts.most_common():
        us = f" {n / freq / reqs * 1e6:.1f} µs |" if reqs else ""
        print(f"| {stage} | {100 * n / total:.1f}% |{us}")


if __name__ == "__main__":
    main()

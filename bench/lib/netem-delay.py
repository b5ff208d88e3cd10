#!/usr/bin/env python3
"""Delays every packet of one NFQUEUE queue by a fixed time: the delay half
of `tc netem` for kernels built without sch_netem (bench/lib/netns.sh uses
it only then). Standard library only: the nfnetlink_queue protocol is
spoken directly over an AF_NETLINK socket.

Run inside the network namespace whose iptables rules send packets to the
queue (a netlink socket belongs to the namespace that opened it):

    ip netns exec NS python3 netem-delay.py --queue 0 --delay-ms 40 --max-seconds 3600

Packets are held in arrival order and accepted together once the oldest
is due (one batch verdict), so the order of a flow is kept, as netem keeps
it without jitter. It exits on SIGTERM/SIGINT, when its parent goes away,
or after --max-seconds; the kernel drops whatever it still holds.
"""

import argparse
import collections
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_GSO = 4
NF_ACCEPT = 1
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
SO_RCVBUFFORCE = 33


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def message(kind, queue, attrs, flags=NLM_F_REQUEST):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def configure(sock, queue, maxlen):
    """Binds the queue (metadata only, GSO packets whole) and checks each ack."""
    requests = [
        [attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET))],
        [attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))],
        [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", maxlen))],
        [attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_GSO)),
         attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_GSO))],
    ]
    for attrs in requests:
        sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
        reply = sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from("=IHHII", reply)
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", reply, 16)
            if error != 0:
                sys.exit(f"netem-delay: configuring queue {queue} failed: {os.strerror(-error)}")


def packet_ids(data):
    """The packet ids of every queued-packet message in one netlink read."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            return
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            at, end = offset + 20, offset + length
            while at + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, at)
                if alen < 4:
                    break
                if atype & 0x7FFF == NFQA_PACKET_HDR:
                    (pid,) = struct.unpack_from("!I", data, at + 4)
                    yield pid
                    break
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--maxlen", type=int, default=65536)
    parser.add_argument("--ready-file", help="written once the queue is bound")
    args = parser.parse_args()

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    parent = os.getppid()
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    configure(sock, args.queue, args.maxlen)
    sock.setblocking(False)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(f"{os.getpid()}\n")

    delay = args.delay_ms / 1000.0
    held = collections.deque()  # (due, packet id), in arrival order
    end = time.monotonic() + args.max_seconds
    while not stop and time.monotonic() < end and os.getppid() == parent:
        now = time.monotonic()
        wait = min(1.0, max(0.0, held[0][0] - now)) if held else 1.0
        try:
            readable, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        if readable:
            while True:
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    break
                arrived = time.monotonic()
                held.extend((arrived + delay, pid) for pid in packet_ids(data))
        now = time.monotonic()
        last = None
        while held and held[0][0] <= now:
            last = held.popleft()[1]
        if last is not None:
            verdict = attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, last))
            sock.send(message(NFQNL_MSG_VERDICT_BATCH, args.queue, [verdict]))


if __name__ == "__main__":
    main()

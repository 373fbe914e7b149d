"""Small DNS helpers for the resolver's tests and benchmark: queries built and replies read by
hand (no dnspython on the machine), and a fake upstream server on loopback.

The upstream answers `outside.test` with an A record (192.0.2.7), `big.test` with 40 A records
(over UDP only the header with TC set, so clients retry over TCP), and NXDOMAIN otherwise; it
counts the questions it saw.
"""
import random
import socket
import struct
import threading

A, NS, PTR, MX, AAAA = 1, 2, 12, 15, 28


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(name, qtype=A, qid=None, flags=0x0100):
    qid = random.randrange(65536) if qid is None else qid
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, 1)


def read_name(msg, pos):
    labels, jumped, end = [], False, None
    for _ in range(128):
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = pos + 2
            pos, jumped = ((n & 0x3F) << 8) | msg[pos + 1], True
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode("latin-1"))
        pos += 1 + n
    raise ValueError("name loop")


class Reply:
    def __init__(self, msg):
        self.raw = msg
        self.id, self.flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
        self.rcode = self.flags & 0xF
        self.tc = bool(self.flags & 0x0200)
        self.aa = bool(self.flags & 0x0400)
        pos = 12
        self.questions = []
        for _ in range(qd):
            name, pos = read_name(msg, pos)
            self.questions.append((name, *struct.unpack("!HH", msg[pos:pos + 4])))
            pos += 4
        self.answers = []
        for _ in range(an):
            name, pos = read_name(msg, pos)
            rtype, _, _, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
            pos += 10
            data = msg[pos:pos + rdlen]
            if rtype == A:
                value = socket.inet_ntop(socket.AF_INET, data)
            elif rtype == AAAA:
                value = socket.inet_ntop(socket.AF_INET6, data)
            elif rtype == PTR:
                value = read_name(msg, pos)[0]
            else:
                value = data
            self.answers.append((name, rtype, value))
            pos += rdlen

    @property
    def values(self):
        return [v for _, _, v in self.answers]


def udp_query(addr, port, name, qtype=A, timeout=5.0, qid=None):
    q = build_query(name, qtype, qid)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (addr, port))
        while True:
            data, _ = s.recvfrom(65535)
            if data[:2] == q[:2]:
                return Reply(data)


def tcp_query(addr, port, name, qtype=A, timeout=5.0, qid=None):
    q = build_query(name, qtype, qid)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((addr, port))
        s.sendall(struct.pack("!H", len(q)) + q)
        return Reply(recv_framed(s))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def recv_framed(s):
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, n)


def free_udp_port(addr="127.0.0.1"):
    """A port free for both UDP and TCP on `addr`."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((addr, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((addr, port))
                    return port
                except OSError:
                    continue


class FakeUpstream:
    """A DNS server on 127.0.0.1 (UDP and TCP) answering a few fixed names."""

    def __init__(self):
        self.port = free_udp_port()
        self.seen = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.stopped = False
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True), threading.Thread(target=self._serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def answer(self, query, over_tcp):
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        name, pos = read_name(query, 12)
        qtype, qclass = struct.unpack("!HH", query[pos:pos + 4])
        self.seen.append(name.lower())
        question = query[12:pos + 4]
        rd = flags & 0x0100
        answers = []
        rcode = 0
        if name.lower() == "outside.test" and qtype == A:
            answers = [socket.inet_aton("192.0.2.7")]
        elif name.lower() == "big.test" and qtype == A:
            if not over_tcp:
                return struct.pack("!HHHHHH", qid, 0x8000 | 0x0200 | 0x0080 | rd, 1, 0, 0, 0) + question
            answers = [socket.inet_aton(f"192.0.2.{i + 1}") for i in range(40)]
        elif qtype == A:
            rcode = 3
        out = struct.pack("!HHHHHH", qid, 0x8000 | 0x0080 | rd | rcode, 1, len(answers), 0, 0) + question
        for a in answers:
            out += b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 30, 4) + a
        return out

    def _serve_udp(self):
        while not self.stopped:
            try:
                data, peer = self.udp.recvfrom(65535)
                self.udp.sendto(self.answer(data, False), peer)
            except OSError:
                return
            except Exception:
                continue

    def _serve_tcp(self):
        while not self.stopped:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            with c:
                try:
                    c.settimeout(5)
                    while True:
                        q = recv_framed(c)
                        r = self.answer(q, True)
                        c.sendall(struct.pack("!H", len(r)) + r)
                except Exception:
                    pass

    def close(self):
        self.stopped = True
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A second, independent reader of mpbs-run's version 2 ledger.

Written from docs/LEDGER.md alone, without the C code that writes or
verifies the format: CI runs it next to `mpbs-run verify` on the same ledger
and both must agree. Where they disagree, docs/LEDGER.md decides.

    mpbs_ledger.py LEDGER|SEGMENT... (--key NAME=FILE... | --keys-dir DIR)
                   [--association-key FILE] [--confirm K|all] [--checkpoint-every N]

A LEDGER path (the live segment) brings in its sealed segments
LEDGER.NNNNNN beside it; several files name the segments to check. Every
segment is checked from its own `segment` record, in segment-number order,
and each one against the end of the one before (the rules "What a reader
checks" 1-8). Prints a line per segment, then `OK: ...` (exit 0) or
`FAIL: FILE: record N (offset X): why` (exit 1); exit 2 when a file or a key
cannot be read, or on a bad command line.

As a module, `segment_files` finds the files, `Segment` decodes one file's
blocks and records (with `decode=True` only, no checking), and `Checker`
checks them. Python 3 standard library; signature checks need the
`cryptography` package (Debian: python3-cryptography).
"""

import argparse
import hashlib
import mmap
import os
import re
import struct
import sys

MAGIC = b"MPBSLDG2"
BLOCK_MARKER = 0xB2
BLOCK_HEAD = struct.Struct(">BQI")          # marker, t, body_len
RECORD_HEAD = struct.Struct(">BI")          # type, len
BODY_MIN, BODY_MAX = 5, 16 * 1024 * 1024
U64 = struct.Struct(">Q")
U32 = struct.Struct(">I")
U16 = struct.Struct(">H")
ZERO32 = bytes(32)
MAP_ABOVE = 64 << 20
NAME_RE = re.compile(rb"^[A-Za-z0-9_-]{1,32}$")
SEGMENT_NAME_RE = re.compile(r"^(.*)\.([0-9]{6,})$")
HEAD_DOMAIN = b"mpbs-run ledger head v2\0"
CHAIN_DOMAIN = b"MPBS_CHAIN_V1|"

T_SEGMENT, T_SIGNALS, T_CHECKPOINT, T_CONFIRMED, T_INCOMPLETE, T_REJECTED, T_HEAD = range(1, 8)
TYPE_NAMES = {T_SEGMENT: "segment", T_SIGNALS: "signals", T_CHECKPOINT: "checkpoint",
              T_CONFIRMED: "confirmed", T_INCOMPLETE: "incomplete", T_REJECTED: "rejected", T_HEAD: "head"}
START, COMPLETE = 1, 2                      # the stage byte of a signal's canonical frame


class Fail(Exception):
    """The ledger was read and is wrong: exit 1."""

    def __init__(self, why, record=None, offset=None):
        super().__init__(why)
        self.why, self.record, self.offset = why, record, offset


class CannotRead(Exception):
    """A file or key cannot be read, or a bad command line: exit 2."""


# ---------------------------------------------------------------- decoding

class Cursor:
    """Reads one record's payload; every read past its end is a Fail."""

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf, pos, end):
        self.buf, self.pos, self.end = buf, pos, end

    def take(self, n):
        if self.pos + n > self.end:
            raise Fail(f"record ends {self.pos + n - self.end} byte(s) early")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        if self.pos >= self.end:
            raise Fail("record ends early")
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def unpack(self, st):
        if self.pos + st.size > self.end:
            raise Fail("record ends early")
        v = st.unpack_from(self.buf, self.pos)[0]
        self.pos += st.size
        return v

    def varint(self):
        v = shift = 0
        for i in range(10):
            if self.pos >= self.end:
                raise Fail("record ends inside a varint")
            b = self.buf[self.pos]
            self.pos += 1
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                if b == 0 and i > 0:
                    raise Fail("varint with a superfluous trailing zero group")
                return v
            shift += 7
        raise Fail("varint longer than 10 bytes")

    def zigzag(self):
        z = self.varint()
        return (z >> 1) ^ -(z & 1)

    def done(self, what):
        if self.pos != self.end:
            raise Fail(f"{what} record has {self.end - self.pos} byte(s) left over")


class Segment:
    """One segment file: its blocks, records and operation numbering."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        try:
            with open(path, "rb") as f:
                # A large segment (segment_size is 256M by default) is mapped, not
                # read; a small one is read: bytes index faster than a map.
                size = os.fstat(f.fileno()).st_size
                self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size > MAP_ABOVE else f.read()
        except OSError as e:
            raise CannotRead(f"cannot read {path}: {e.strerror}") from e
        self.ops = []             # this segment's operation numbering
        self.number = None        # from its segment record
        self.header = None

    def kind(self):
        """'v2', 'empty', 'v1' or 'unknown' from the first bytes."""
        if not self.data:
            return "empty"
        if self.data[:len(MAGIC)] == MAGIC:
            return "v2"
        if self.data[:1] == b"{":
            return "v1"
        return "unknown"

    def blocks(self):
        """Yields (offset, t, body_start, body_end) for every block (rule 1's framing)."""
        data, pos, size = self.data, len(MAGIC), len(self.data)
        while pos < size:
            if size - pos < BLOCK_HEAD.size:
                raise Fail(f"torn block: {size - pos} byte(s) at the end, less than a block's header",
                           offset=pos)
            marker, t, body_len = BLOCK_HEAD.unpack_from(data, pos)
            if marker != BLOCK_MARKER:
                raise Fail(f"block marker 0x{marker:02x}, not 0x{BLOCK_MARKER:02X}", offset=pos)
            if not BODY_MIN <= body_len <= BODY_MAX:
                raise Fail(f"block body_len {body_len} outside {BODY_MIN}..{BODY_MAX}", offset=pos)
            body = pos + BLOCK_HEAD.size
            if body + body_len > size:
                raise Fail(f"torn block: body_len {body_len} runs {body + body_len - size} byte(s) past the end",
                           offset=pos)
            yield pos, t, body, body + body_len
            pos = body + body_len

    def records(self, body, end):
        """Yields (type, offset, Cursor over the payload) for one block's body."""
        data, pos = self.data, body
        while pos < end:
            if end - pos < RECORD_HEAD.size:
                raise Fail("block body ends inside a record's header", offset=pos)
            typ, ln = RECORD_HEAD.unpack_from(data, pos)
            start = pos + RECORD_HEAD.size
            if start + ln > end:
                raise Fail(f"record len {ln} runs past its block's body", offset=pos)
            if typ not in TYPE_NAMES:
                raise Fail(f"record type {typ} is not a version 2 type", offset=pos)
            yield typ, pos, Cursor(data, start, start + ln)
            pos = start + ln

    # Operation references: `new` brings a full id, numbered n_ops; otherwise
    # ref names operation n_ops - 1 - ref.
    def op(self, c, new, ref):
        if new:
            op = bytes(c.take(32))
            self.ops.append(op)
            return op
        if ref >= len(self.ops):
            raise Fail(f"operation reference {ref} with only {len(self.ops)} operation(s) introduced")
        return self.ops[len(self.ops) - 1 - ref]

    def staged_op(self, c):
        """x:varint (ref << 2 | new << 1 | stage_bit) | [op]: (op, stage byte)."""
        x = c.varint()
        return self.op(c, x & 2, x >> 2), COMPLETE if x & 1 else START

    def op_ref(self, c):
        """x:varint (ref << 1 | new) | [op]."""
        x = c.varint()
        return self.op(c, x & 1, x >> 1)

    def parse_segment(self, c):
        version = c.u8()
        if version != 2:
            raise Fail(f"segment record version {version}, not 2")
        number = c.unpack(U32)
        if number < 1:
            raise Fail("segment number 0")
        first_record = c.unpack(U64)
        prev = bytes(c.take(32))
        n = c.u8()
        names = []
        for _ in range(n):
            name = bytes(c.take(c.u8()))
            if not NAME_RE.match(name):
                raise Fail(f"provider name {name!r} is not 1 to 32 of A-Z a-z 0-9 _ -")
            if name in names:
                raise Fail(f"provider name {name.decode()} twice in the provider table")
            names.append(name)
        states = []
        for name in names:
            flags = c.u8()
            if flags & ~1:
                raise Fail(f"state of {name.decode()}: flags 0x{flags:02x} has bits other than bit 0")
            st = ProviderState(name)
            if flags & 1:
                st.open = True
                st.epoch = bytes(c.take(16))
                st.pseq = c.unpack(U64)
                st.head = bytes(c.take(32))
                st.covered = c.unpack(U64)
                if st.covered > st.pseq:
                    raise Fail(f"state of {name.decode()}: covered {st.covered} > pseq {st.pseq}")
                if st.pseq - st.covered > len(c.buf):
                    raise Fail(f"state of {name.decode()}: {st.pseq - st.covered} uncovered signals")
                st.uncovered = [self.staged_op(c) for _ in range(st.pseq - st.covered)]
            states.append(st)
        carried = {}
        for _ in range(c.unpack(U32)):
            op = self.op_ref(c)
            flags = c.u8()
            if flags & ~1:
                raise Fail(f"carried operation {op.hex()}: flags 0x{flags:02x} has bits other than bit 0")
            start_mask, complete_mask = c.varint(), c.varint()
            for m in (start_mask, complete_mask):
                if m >> n:
                    raise Fail(f"carried operation {op.hex()}: mask 0x{m:x} names a provider past {n}")
            if op in carried:
                raise Fail(f"operation {op.hex()} carried twice")
            carried[op] = [start_mask, complete_mask, bool(flags & 1)]
        c.done("segment")
        self.number = number
        self.header = SegmentHeader(number, first_record, prev, names, states, carried)
        return self.header

    def parse_signals(self, c):
        """(p, [(op, stage, value, t, pseq), ...])."""
        p = c.u8()
        pseq = c.unpack(U64)
        count = c.unpack(U16)
        if count < 1:
            raise Fail("signals record with count 0")
        t = c.unpack(U64)
        out = []
        for i in range(count):
            op, stage = self.staged_op(c)
            value = bytes(c.take(32))
            if i:
                t += c.zigzag()
                if not 0 <= t < 1 << 64:
                    raise Fail(f"signal {i}: time {t} outside an unsigned 64-bit value")
            out.append((op, stage, value, t, pseq + i))
        c.done("signals")
        return p, out

    def parse_checkpoint(self, c):
        """(p, pseq, epoch or None, sig); epoch set for an opening one."""
        p = c.u8()
        pseq = c.unpack(U64)
        flags = c.u8()
        if flags & ~1:
            raise Fail(f"checkpoint flags 0x{flags:02x} has bits other than bit 0")
        epoch = bytes(c.take(16)) if flags & 1 else None
        sig = bytes(c.take(64))
        c.done("checkpoint")
        return p, pseq, epoch, sig

    def parse_closed(self, c, what):
        """confirmed / incomplete: [(op, mask), ...]."""
        count = c.unpack(U16)
        if count < 1:
            raise Fail(f"{what} record with count 0")
        out = [(self.op_ref(c), c.varint()) for _ in range(count)]
        c.done(what)
        return out

    def parse_rejected(self, c):
        p = c.u8()
        reason = bytes(c.take(c.end - c.pos))
        if not 1 <= len(reason) <= 200 or any(b < 0x20 or b > 0x7E for b in reason):
            raise Fail("rejected reason is not 1 to 200 bytes of printable ASCII")
        return p, reason.decode()

    def parse_head(self, c):
        flags = c.u8()
        if flags & ~1:
            raise Fail(f"head flags 0x{flags:02x} has bits other than bit 0")
        covers = c.unpack(U64)
        chain = bytes(c.take(32))
        sig = bytes(c.take(64))
        c.done("head")
        return bool(flags & 1), covers, chain, sig


class SegmentHeader:
    def __init__(self, number, first_record, prev, names, states, carried):
        self.number, self.first_record, self.prev = number, first_record, prev
        self.names, self.states, self.carried = names, states, carried


class ProviderState:
    __slots__ = ("name", "padded", "open", "epoch", "pseq", "head", "covered", "uncovered")

    def __init__(self, name):
        self.name = name
        self.padded = bytes([len(name)]) + name.ljust(32, b"\0")
        self.open, self.epoch, self.pseq, self.head, self.covered = False, None, 0, None, 0
        self.uncovered = []

    def same(self, other):
        if self.open != other.open:
            return False
        return not self.open or (self.epoch, self.pseq, self.head, self.covered, self.uncovered) == \
            (other.epoch, other.pseq, other.head, other.covered, other.uncovered)

    def describe(self):
        if not self.open:
            return "no open epoch"
        return (f"epoch {self.epoch.hex()} pseq {self.pseq} covered {self.covered} head {self.head.hex()[:16]}... "
                f"{len(self.uncovered)} uncovered")


# ---------------------------------------------------------------- finding segments

def segment_files(paths):
    """The files of a ledger: one LEDGER path brings its LEDGER.NNNNNN
    siblings and LEDGER.next once it is not empty (the association began a
    segment in it before the supervisor renamed it); never .v1 or .cut-*.
    Several paths are the files."""
    if len(paths) != 1 or SEGMENT_NAME_RE.match(os.path.basename(paths[0])):
        return list(paths)
    path = paths[0]
    d, base = os.path.split(path)
    try:
        names = os.listdir(d or ".")
    except OSError as e:
        raise CannotRead(f"cannot read the directory of {path}: {e.strerror}") from e
    files = [os.path.join(d, n) for n in names
             if (m := SEGMENT_NAME_RE.match(n)) and m.group(1) == base]
    if os.path.exists(path) or not files:
        files.append(path)
    spare = path + ".next"
    if os.path.exists(spare) and os.path.getsize(spare) > 0:
        files.append(spare)
    return files


def load_segments(paths):
    """Opens each file and reads its segment record; returns the v2 segments in
    segment-number order and the empty files (a live segment not yet begun)."""
    segs, empty = [], []
    for path in segment_files(paths):
        s = Segment(path)
        kind = s.kind()
        if kind == "empty":
            empty.append(s)
            continue
        if kind == "v1":
            raise CannotRead(f"{path}: a version 1 ledger (JSON lines): `mpbs-run verify` reads it")
        if kind == "unknown":
            raise Fail_in(s, Fail(f"does not begin with {MAGIC.decode()}", offset=0))
        try:
            first = next(s.blocks(), None)
            rec = next(s.records(first[2], first[3]), None) if first else None
            if rec is None or rec[0] != T_SEGMENT:
                raise Fail("the first record is not a segment record", offset=len(MAGIC))
            s.parse_segment(rec[2])
            s.ops.clear()
        except Fail as e:
            raise Fail_in(s, e) from e
        m = SEGMENT_NAME_RE.match(s.name)
        if m and int(m.group(2)) != s.number:
            raise Fail_in(s, Fail(f"named {m.group(2)} but its segment record says segment {s.number}", offset=0))
        segs.append(s)
    segs.sort(key=lambda s: s.number)
    for a, b in zip(segs, segs[1:]):
        if a.number == b.number:
            raise Fail_in(b, Fail(f"segment {b.number} is also {a.path}", offset=0))
    for s in empty:
        if SEGMENT_NAME_RE.match(s.name):
            raise Fail_in(s, Fail("a sealed segment's name on an empty file", offset=0))
    return segs, empty


class FileFail(Exception):
    def __init__(self, seg, fail):
        super().__init__(fail.why)
        self.seg, self.fail = seg, fail

    def line(self):
        f = self.fail
        where = []
        if f.record is not None:
            where.append(f"record {f.record}")
        if f.offset is not None:
            where.append(f"offset {f.offset}" if not where else f"(offset {f.offset})")
        return f"FAIL: {self.seg.path}: {' '.join(where) or 'file'}: {f.why}"


def Fail_in(seg, fail):  # noqa: N802 -- reads as the exception it builds
    return FileFail(seg, fail)


# ---------------------------------------------------------------- checking

def load_public_key(path, who):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise CannotRead(f"cannot read the public key of {who}: {path}: {e.strerror}") from e
    if not re.fullmatch(r"[0-9a-fA-F]{64}\n?", text):
        raise CannotRead(f"{path}: the public key of {who} is not 64 hex digits and a newline")
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError as e:
        raise CannotRead("signature checks need the cryptography package (Debian: python3-cryptography)") from e
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))


def verify_sig(key, sig, msg):
    from cryptography.exceptions import InvalidSignature
    try:
        key.verify(sig, msg)
        return True
    except InvalidSignature:
        return False


class Totals:
    def __init__(self):
        self.records = self.confirmed = self.incomplete = self.rejected = 0
        self.signals = self.checkpoints = self.heads = self.unchecked_heads = self.blocks = 0


class Checker:
    """Checks segments in order (docs/LEDGER.md, "What a reader checks")."""

    def __init__(self, keys, association_key=None, confirm="all", checkpoint_every=256, out=print):
        self.keys = {name.encode(): k for name, k in keys.items()}
        self.association_key = association_key
        self.confirm = len(self.keys) if confirm == "all" else int(confirm)
        self.checkpoint_every = checkpoint_every
        self.out = out
        self.total = Totals()
        self.confirmed_ever = set()       # rule 5: across the whole ledger
        self.epochs_opened = {}           # rule 4: name -> epochs opened, across the whole ledger
        self.unsigned_tail = 0            # records after the last head of the newest segment
        self.end = None                   # the previous segment's computed end

    def run(self, segs, empty):
        if not segs:
            raise CannotRead("no version 2 segment found" + (f" ({empty[0].path} is empty)" if empty else ""))
        if segs[0].number != 1:
            self.out(f"starting at segment {segs[0].number}: earlier segments are not present; the state they "
                     f"left is taken from its segment record, which only the association's heads vouch for")
        for i, s in enumerate(segs):
            try:
                self.check(s, sealed=i < len(segs) - 1)
            except Fail as e:
                raise Fail_in(s, e) from e
        for s in empty:
            self.out(f"{s.path}: empty (the live segment has not begun)")
        t = self.total
        heads = f"{t.heads} heads" + (f" ({t.unchecked_heads} unchecked: no association key)"
                                      if t.unchecked_heads else " signed")
        return (f"OK: {t.records} records, {t.confirmed} confirmed, {t.incomplete} incomplete, "
                f"{t.rejected} rejected; {t.signals} signals, {t.checkpoints} checkpoints, {heads}; "
                f"{len(segs)} segment(s) {segs[0].number}..{segs[-1].number}, {self.unsigned_tail} record(s) "
                f"after the last head")

    def start(self, seg, h):
        """The segment's starting point, and rule 2 and 8 against the one before."""
        names = set(h.names)
        if names != set(self.keys):
            missing = sorted(n.decode() for n in set(self.keys) - names)
            extra = sorted(n.decode() for n in names - set(self.keys))
            raise Fail(f"provider table {[n.decode() for n in h.names]} is not the key set "
                       f"(missing {missing}, no key for {extra})", record=h.first_record)
        prev = self.end
        if prev is None:
            if h.number == 1 and (h.prev != ZERO32 or h.first_record != 1):
                raise Fail("segment 1 must start at record 1 with prev 32 zero bytes", record=h.first_record)
            if h.number == 1 and (h.carried or any(st.open for st in h.states)):
                raise Fail("segment 1 states open epochs or carried operations: nothing came before it",
                           record=h.first_record)
            for st in h.states:
                if st.open:
                    self.epochs_opened.setdefault(st.name, set()).add(st.epoch)
            for op, (_s, _c, done) in h.carried.items():
                if done:
                    self.confirmed_ever.add(op)
            return
        n, record, chain, states, ops = prev
        if h.number != n + 1:
            raise Fail(f"segment {h.number} follows segment {n}: segment {n + 1} is missing", record=h.first_record)
        if h.first_record != record:
            raise Fail(f"first_record {h.first_record}, but segment {n} ended before record {record}",
                       record=h.first_record)
        if h.prev != chain:
            raise Fail(f"prev {h.prev.hex()} is not the chain after segment {n}'s seal ({chain.hex()})",
                       record=h.first_record)
        for st in h.states:
            if not st.same(states[st.name]):
                raise Fail(f"state of {st.name.decode()} ({st.describe()}) is not the one segment {n} ended with "
                           f"({states[st.name].describe()})", record=h.first_record)
        # Carried masks in this segment's provider numbering; the end state in the previous one's.
        for op, (sm, cm, done) in h.carried.items():
            have = ops.get(op)
            hs, hc, hd = have if have else ({}, {}, False)
            if done and not hd:
                raise Fail(f"carried operation {op.hex()} is marked confirmed; segment {n} never confirmed it",
                           record=h.first_record)
            for mask, held, what in ((sm, hs, "START"), (cm, hc, "COMPLETE")):
                for p, name in enumerate(h.names):
                    if mask >> p & 1 and not held.get(name):
                        raise Fail(f"carried operation {op.hex()}: {name.decode()}'s {what} is not covered at the "
                                   f"end of segment {n}", record=h.first_record)

    def check(self, seg, sealed):
        oldest = self.end is None
        t = self.total
        seg.ops.clear()
        h = None
        record = None             # next record number
        chain = None
        ops = {}                  # op -> [start_mask, complete_mask, confirmed]
        states = []
        seg_counts = Totals()
        last_head_at = None
        seal_seen = False
        first_block = True
        for off, bt, body, end in seg.blocks():
            if seal_seen:
                raise Fail("a block after the seal", offset=off)
            block_start_record = record
            first_record_of_block = True
            for typ, roff, c in seg.records(body, end):
                where = record
                try:
                    if typ == T_SEGMENT:
                        if not first_block or not first_record_of_block:
                            raise Fail("segment record that is not the first record of the file")
                        h = seg.parse_segment(c)
                        where = h.first_record
                        self.start(seg, h)
                        record, chain = h.first_record + 1, h.prev
                        states = h.states
                        ops = {op: list(v) for op, v in h.carried.items()}
                        # Carried "confirmed" are confirmations made before this segment.
                        first_record_of_block = False
                        continue
                    if h is None:
                        raise Fail("the first record is not a segment record")
                    if typ == T_SIGNALS:
                        p, sigs = seg.parse_signals(c)
                        st = self.provider(states, p)
                        if not st.open:
                            raise Fail(f"signals of {st.name.decode()}, which has no open epoch")
                        if sigs[0][4] != st.pseq + 1:
                            raise Fail(f"signals of {st.name.decode()} start at pseq {sigs[0][4]}, "
                                       f"expected {st.pseq + 1}")
                        head, padded = st.head, st.padded
                        sha = hashlib.sha256
                        for op, stage, value, ts, pseq in sigs:
                            head = sha(head + b"\x01\x02" + bytes((stage,)) + padded + op + value
                                       + U64.pack(ts) + U64.pack(pseq)).digest()
                            st.uncovered.append((op, stage))
                        st.head, st.pseq = head, sigs[-1][4]
                        if len(st.uncovered) > self.checkpoint_every:
                            raise Fail(f"{st.name.decode()} has {len(st.uncovered)} uncovered signals, more than "
                                       f"checkpoint_every {self.checkpoint_every}")
                        record += len(sigs)
                        seg_counts.signals += len(sigs)
                    elif typ == T_CHECKPOINT:
                        self.checkpoint(states, ops, *seg.parse_checkpoint(c))
                        record += 1
                        seg_counts.checkpoints += 1
                    elif typ in (T_CONFIRMED, T_INCOMPLETE):
                        what = TYPE_NAMES[typ]
                        entries = seg.parse_closed(c, what)
                        for i, (op, mask) in enumerate(entries):
                            where = record + i
                            self.closed(typ, h, ops, op, mask)
                        record += len(entries)
                        if typ == T_CONFIRMED:
                            seg_counts.confirmed += len(entries)
                        else:
                            seg_counts.incomplete += len(entries)
                    elif typ == T_REJECTED:
                        p, _reason = seg.parse_rejected(c)
                        st = self.provider(states, p)
                        st.open, st.uncovered = False, []
                        record += 1
                        seg_counts.rejected += 1
                    elif typ == T_HEAD:
                        seal, covers, hchain, sig = seg.parse_head(c)
                        if not first_record_of_block:
                            raise Fail("head that is not the first record of its block")
                        if covers != block_start_record - 1:
                            raise Fail(f"head covers {covers}, but the last record before its block is "
                                       f"{block_start_record - 1}")
                        if hchain != chain:
                            raise Fail(f"head chain {hchain.hex()} is not the file chain before its block "
                                       f"({chain.hex()})")
                        if self.association_key is None:
                            seg_counts.unchecked_heads += 1
                        elif not verify_sig(self.association_key, sig, HEAD_DOMAIN + U64.pack(covers) + hchain):
                            raise Fail("head signature does not verify with the association's key")
                        if seal:
                            if roff != body or c.end != end:
                                raise Fail("seal not alone in its block")
                            if end != len(seg.data):
                                raise Fail("seal not in the last block of its segment")
                            seal_seen = True
                        last_head_at = record
                        record += 1
                        seg_counts.heads += 1
                except Fail as e:
                    if e.record is None:
                        e.record = where
                    if e.offset is None:
                        e.offset = roff
                    raise
                first_record_of_block = False
            first_block = False
            chain = hashlib.sha256(chain + seg.data[off:end]).digest()
        if h is None:
            raise Fail("no segment record", offset=len(MAGIC))
        if sealed and not seal_seen:
            raise Fail(f"segment {h.number} is not the newest but does not end with a seal", offset=len(seg.data))
        # The end state, by provider name, for rule 8 (masks as name -> covered).
        by_name = {st.name: st for st in states}
        end_ops = {}
        for op, (sm, cm, done) in ops.items():
            end_ops[op] = ({n: bool(sm >> p & 1) for p, n in enumerate(h.names)},
                           {n: bool(cm >> p & 1) for p, n in enumerate(h.names)}, done)
        if oldest and h.number != 1 and self.association_key is not None and last_head_at is None:
            raise Fail(f"segment {h.number} is the oldest present and no verified head covers its start: "
                       f"nothing authenticates the state it carries", record=h.first_record)
        self.end = (h.number, record, chain, by_name, end_ops)
        self.unsigned_tail = record - (last_head_at + 1 if last_head_at is not None else h.first_record)
        t.records += record - h.first_record
        for k in ("confirmed", "incomplete", "rejected", "signals", "checkpoints", "heads", "unchecked_heads"):
            setattr(t, k, getattr(t, k) + getattr(seg_counts, k))
        self.out(f"{seg.path}: segment {h.number}, records {h.first_record}..{record - 1}, "
                 f"{seg_counts.confirmed} confirmed, {seg_counts.incomplete} incomplete, {seg_counts.rejected} "
                 f"rejected, {seg_counts.heads} heads, " + ("sealed" if seal_seen else "not sealed (live)"))

    @staticmethod
    def provider(states, p):
        if p >= len(states):
            raise Fail(f"provider index {p}, the table has {len(states)}")
        return states[p]

    def checkpoint(self, states, ops, p, pseq, epoch, sig):
        st = self.provider(states, p)
        key = self.keys[st.name]
        who = st.name.decode()
        if epoch is not None:
            if pseq != 0:
                raise Fail(f"opening checkpoint of {who} with pseq {pseq}, not 0")
            opened = self.epochs_opened.setdefault(st.name, set())
            if epoch in opened:
                raise Fail(f"{who} opens epoch {epoch.hex()} a second time")
            origin = hashlib.sha256(CHAIN_DOMAIN + epoch).digest()
            if not verify_sig(key, sig, b"\x01\x03\x00" + st.padded + epoch + U64.pack(0) + origin):
                raise Fail(f"opening checkpoint of {who}: signature does not verify with {who}'s key")
            opened.add(epoch)
            st.open, st.epoch, st.pseq, st.head, st.covered, st.uncovered = True, epoch, 0, origin, 0, []
            return
        if not st.open:
            raise Fail(f"covering checkpoint of {who}, which has no open epoch")
        if pseq != st.pseq:
            raise Fail(f"covering checkpoint of {who} at pseq {pseq}, its last signal is {st.pseq}")
        if not verify_sig(key, sig, b"\x01\x03\x00" + st.padded + st.epoch + U64.pack(pseq) + st.head):
            raise Fail(f"covering checkpoint of {who} at pseq {pseq}: signature does not verify with {who}'s key")
        bit = 1 << p
        for op, stage in st.uncovered:
            o = ops.get(op)
            if o is None:
                o = ops[op] = [0, 0, False]
            o[0 if stage == START else 1] |= bit
        st.uncovered, st.covered = [], pseq

    def closed(self, typ, h, ops, op, mask):
        n = len(h.names)
        if mask >> n:
            raise Fail(f"mask 0x{mask:x} of {op.hex()} names a provider past the table's {n}")
        sm, cm, done = ops.get(op, (0, 0, False))
        lacking = mask & ~(sm & cm)
        if lacking:
            who = [h.names[p].decode() for p in range(n) if lacking >> p & 1]
            raise Fail(f"{TYPE_NAMES[typ]} {op.hex()}: START and COMPLETE of {', '.join(who)} not covered")
        if typ == T_CONFIRMED:
            if bin(mask).count("1") < self.confirm:
                raise Fail(f"confirmed {op.hex()} with {bin(mask).count('1')} provider(s), confirm needs "
                           f"{self.confirm}")
            if op in self.confirmed_ever or done:
                raise Fail(f"operation {op.hex()} confirmed a second time")
            self.confirmed_ever.add(op)
            ops[op] = [sm, cm, True]


# ---------------------------------------------------------------- events (no checking)

def events(paths):
    """Decodes every segment of a ledger without checking it, for tools that
    want its contents (contrib/bench): yields ("signal", name, op, stage, t),
    ("confirmed", op, mask, t), ("incomplete", op, mask, t), ("rejected", name, t),
    ("checkpoint", name, t), ("head", t) and ("segment", number, path, size)."""
    segs, _empty = load_segments(paths)
    for s in segs:
        s.ops.clear()
        yield "segment", s.number, s.path, len(s.data)
        try:
            yield from segment_events(s)
        except Fail as e:
            raise Fail_in(s, e) from e


def segment_events(s):
    names = []

    def name(p):
        if p >= len(names):
            raise Fail(f"provider index {p}, the table has {len(names)}")
        return names[p]

    for _off, bt, body, end in s.blocks():
        for typ, _roff, c in s.records(body, end):
            if typ == T_SIGNALS:
                p, sigs = s.parse_signals(c)
                who = name(p)
                for op, stage, _v, ts, _pseq in sigs:
                    yield "signal", who, op, stage, ts
            elif typ in (T_CONFIRMED, T_INCOMPLETE):
                for op, mask in s.parse_closed(c, TYPE_NAMES[typ]):
                    yield TYPE_NAMES[typ], op, mask, bt
            elif typ == T_SEGMENT:
                names = [n.decode() for n in s.parse_segment(c).names]
            elif typ == T_CHECKPOINT:
                yield "checkpoint", name(s.parse_checkpoint(c)[0]), bt
            elif typ == T_REJECTED:
                yield "rejected", name(s.parse_rejected(c)[0]), bt
            elif typ == T_HEAD:
                s.parse_head(c)
                yield "head", bt


# ---------------------------------------------------------------- command line

def parse_args(argv):
    ap = argparse.ArgumentParser(prog="mpbs_ledger.py", description=__doc__.splitlines()[0])
    ap.add_argument("ledger", nargs="*", help="the ledger path (live segment), or segment files "
                    "(default: the topology's ledger)")
    ap.add_argument("--topology", metavar="FILE",
                    help="take the ledger, the provider and association keys, confirm and "
                    "checkpoint_every from a topology (mpbs-topology(5)); options given too win")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="with --topology: association.KEY=V or provider.NAME.KEY=V, as mpbs-run takes it")
    ap.add_argument("--key", action="append", default=[], metavar="NAME=FILE",
                    help="a provider's public key file (64 hex digits)")
    ap.add_argument("--keys-dir", metavar="DIR", help="providers' public keys as DIR/NAME/signal.pub (or DIR/NAME.pub)")
    ap.add_argument("--association-key", metavar="FILE", help="the association's public key: checks the heads")
    ap.add_argument("--confirm", default=None, help="the topology's confirm: K or all (default all)")
    ap.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                    help="the topology's checkpoint_every (default 256)")
    a = ap.parse_args(argv)
    if a.topology:
        try:
            from_topology(a)
        except CannotRead as e:
            print(f"mpbs_ledger.py: {e}", file=sys.stderr)
            sys.exit(2)
    if not a.ledger:
        ap.error("give the ledger, or --topology")
    a.confirm = a.confirm or "all"
    a.checkpoint_every = a.checkpoint_every or 256
    if a.confirm != "all" and not (a.confirm.isdigit() and int(a.confirm) >= 1):
        ap.error("--confirm takes a number >= 1 or all")
    if a.checkpoint_every < 1:
        ap.error("--checkpoint-every takes a number >= 1")
    return a


def from_topology(a):
    """Fills what the command line left out from the topology: its INI as
    mpbs-topology(5) describes it (';' or '#' comments, also after a value
    following " ;"), relative paths against its directory, the documented
    defaults for public_key and the association's key directory."""
    import configparser
    cp = configparser.ConfigParser(inline_comment_prefixes=(" ;", " #"), comment_prefixes=(";", "#"),
                                   interpolation=None, strict=True)
    try:
        with open(a.topology, encoding="utf-8") as f:
            cp.read_file(f)
    except (OSError, configparser.Error) as e:
        raise CannotRead(f"cannot read the topology {a.topology}: {e}") from e
    for spec in a.set:
        key, sep, value = spec.partition("=")
        parts = key.split(".")
        if not sep or len(parts) not in (2, 3):
            raise CannotRead(f"--set {spec}: expected SECTION.KEY=VALUE")
        section = parts[0] if len(parts) == 2 else f"{parts[0]} {parts[1]}"
        if not cp.has_section(section):
            cp.add_section(section)
        cp.set(section, parts[-1], value)
    base = os.path.dirname(os.path.abspath(a.topology))

    def path(v):
        return v if os.path.isabs(v) else os.path.join(base, v)

    assoc = cp["association"] if cp.has_section("association") else {}
    ledger = path(assoc.get("ledger", "/var/lib/mpbs/ledger"))
    if not a.ledger:
        a.ledger = [ledger]
    if a.confirm is None:
        a.confirm = assoc.get("confirm", "all").strip()
    if a.association_key is None:
        akeys = path(assoc.get("keys", os.path.join(os.path.dirname(ledger), "association-keys")))
        a.association_key = path(assoc.get("public_key", os.path.join(akeys, "signal.pub")))
    every = []
    for section in cp.sections():
        if not section.startswith("provider "):
            continue
        name, p = section[len("provider "):].strip(), cp[section]
        if "keys" in p and not any(k.startswith(name + "=") for k in a.key):
            a.key.append(f"{name}=" + path(p.get("public_key", os.path.join(path(p["keys"]), "signal.pub"))))
        every.append(int(p.get("checkpoint_every", "256")))
    if a.checkpoint_every is None and every:
        a.checkpoint_every = max(every)


def provider_keys(a):
    files = {}
    if a.keys_dir:
        try:
            entries = sorted(os.listdir(a.keys_dir))
        except OSError as e:
            raise CannotRead(f"cannot read {a.keys_dir}: {e.strerror}") from e
        for e in entries:
            d = os.path.join(a.keys_dir, e)
            if os.path.isdir(d) and NAME_RE.match(e.encode()):
                files[e] = os.path.join(d, "signal.pub")
            elif e.endswith(".pub") and NAME_RE.match(e[:-4].encode()) and e[:-4] not in files:
                files[e[:-4]] = d
    for spec in a.key:
        name, sep, path = spec.partition("=")
        if not sep or not NAME_RE.match(name.encode()):
            raise CannotRead(f"--key {spec}: expected NAME=FILE, NAME 1 to 32 of A-Z a-z 0-9 _ -")
        files[name] = path
    if not files:
        raise CannotRead("no provider keys: give --key NAME=FILE or --keys-dir DIR")
    return {name: load_public_key(path, f"provider {name}") for name, path in files.items()}


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        keys = provider_keys(a)
        if a.confirm != "all" and int(a.confirm) > len(keys):
            raise CannotRead(f"--confirm {a.confirm} with {len(keys)} provider key(s)")
        assoc = load_public_key(a.association_key, "the association") if a.association_key else None
        checker = Checker(keys, assoc, a.confirm, a.checkpoint_every, out=lambda s: print(s, flush=True))
        segs, empty = load_segments(a.ledger)
        print(checker.run(segs, empty))
        return 0
    except CannotRead as e:
        print(f"mpbs_ledger.py: {e}", file=sys.stderr)
        return 2
    except FileFail as e:
        print(e.line())
        return 1


if __name__ == "__main__":
    sys.exit(main())

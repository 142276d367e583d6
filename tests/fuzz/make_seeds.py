#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the wire fuzz targets: a few valid frames and a
few broken ones per target, built from the layouts in lib/wire.h.
Run from anywhere: python3 tests/fuzz/make_seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def artifact(flags=1, reserved=0, ctx=b"CTX_ALPHA", tok=b"tok1,tok2", body=b'{"x":1}',
             version=1, kind=1, body_len=None):
    if body_len is None:
        body_len = len(body) if flags & 1 else 0
    hdr = struct.pack(">BBBB16s32s32sHHI", version, kind, flags, reserved, bytes(range(16)),
                      b"\x01" * 32, b"\x02" * 32, len(ctx), len(tok), body_len)
    return hdr + ctx + tok + (body if flags & 1 else b"")


def name_field(name, id_len=None):
    return struct.pack(">B32s", len(name) if id_len is None else id_len, name)


def signal(stage=1, name=b"A", id_len=None, seq=1, version=1, kind=2):
    return (struct.pack(">BBB", version, kind, stage) + name_field(name, id_len)
            + b"\x0a" * 32 + b"\x0b" * 32 + struct.pack(">QQ", 1700000000000000000, seq) + b"\x0c" * 32)


def checkpoint(reserved=0, name=b"prov_1", id_len=None, seq=0, version=1, kind=3):
    return (struct.pack(">BBB", version, kind, reserved) + name_field(name, id_len)
            + bytes(range(0xa0, 0xb0)) + struct.pack(">Q", seq) + b"\x33" * 32 + b"\x44" * 64)


def post(body=b"hello", ctx=b"CTX_ALPHA", extra=b"", path=b"/nuvl", method=b"POST"):
    head = (method + b" " + path + b" HTTP/1.1\r\nHost: localhost\r\nX-Verification-Context: " + ctx
            + b"\r\n" + extra)
    if b"Transfer-Encoding" not in extra and b"Content-Length" not in extra:
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return head + b"\r\n" + body


def chunked(parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


SEEDS = {
    "http": {
        "post": post(),
        "post_token": post(extra=b"X-Provider-Token: abc.def\r\n"),
        "post_empty": post(body=b""),
        "pipelined": post(b"one") + post(b"two") + post(b"three"),
        "chunked": post(extra=b"Transfer-Encoding: chunked\r\n", body=chunked([b"hel", b"lo"])),
        "expect_continue": post(extra=b"Expect: 100-continue\r\n"),
        "two_lengths": post(extra=b"Content-Length: 5\r\nContent-Length: 6\r\n", body=b"hello!"),
        "length_and_chunked": post(extra=b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                   body=chunked([b"hello"])),
        "oversize": post(body=b"x" * 5000),
        "get": b"GET /nuvl HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "other_path": post(path=b"/other"),
        "http10": b"POST /nuvl HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
        "no_host": b"POST /nuvl HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
        "cut_in_body": post(body=b"0123456789")[:-4],
        "garbage": bytes(range(256)),
    },
    "artifact": {
        "valid_body": artifact(),
        "valid_no_body": artifact(flags=0),
        "valid_empty": artifact(ctx=b"", tok=b"", body=b""),
        "bad_version": artifact(version=2),
        "bad_type": artifact(kind=2),
        "bad_flags": artifact(flags=3),
        "bad_reserved": artifact(reserved=1),
        "body_len_flag_clear": artifact(flags=0, body_len=4) + b"abcd",
        "oversize_context": artifact()[:84] + b"\x01\x01" + artifact()[86:],
        "truncated": artifact()[:60],
        "trailing": artifact() + b"\x00",
    },
    "signal": {
        "valid_start": signal(),
        "valid_complete_long_name": signal(stage=2, name=b"Z" * 32, seq=2**64 - 1),
        "bad_version": signal(version=0),
        "bad_type": signal(kind=3),
        "bad_stage": signal(stage=3),
        "bad_name_char": signal(name=b"a.b"),
        "bad_padding": signal(name=b"AB", id_len=1),
        "oversize_name": signal(id_len=33),
        "truncated": signal()[:100],
        "trailing": signal() + b"\x00",
    },
    "checkpoint": {
        "valid_open": checkpoint(),
        "valid_cover": checkpoint(name=b"a-b_C9", seq=256),
        "bad_version": checkpoint(version=2),
        "bad_type": checkpoint(kind=2),
        "bad_reserved": checkpoint(reserved=1),
        "empty_name": checkpoint(name=b"", id_len=0),
        "bad_padding": checkpoint(name=b"prov_1", id_len=4),
        "oversize_name": checkpoint(id_len=200),
        "truncated": checkpoint()[:92],
        "trailing": checkpoint() + b"\x00",
    },
}


def main():
    for target, seeds in SEEDS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()

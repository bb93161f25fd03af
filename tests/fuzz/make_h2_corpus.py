#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the HTTP/2 fuzz targets: client connections and header blocks as a
real HTTP/2 library (Debian's python3-h2 and python3-hpack) puts them on the wire.
Run from the repository root: /usr/bin/python3 tests/fuzz/make_h2_corpus.py"""
import pathlib

import h2.config
import h2.connection
import hpack

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
REQUEST = [(":method", "GET"), (":scheme", "https"), (":authority", "api.example.com"), (":path", "/v1/items?x=1")]


def client():
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    return c


def connections():
    c = client()
    c.send_headers(1, REQUEST + [("accept", "*/*"), ("cookie", "a=1"), ("cookie", "prisn_affinity=api-1.9")],
                   end_stream=True)
    c.send_headers(3, REQUEST + [("user-agent", "corpus")], end_stream=True)
    yield "two_gets", c.data_to_send()
    c = client()
    c.send_headers(1, [(":method", "POST")] + REQUEST[1:] + [("content-length", "11")])
    c.send_data(1, b"hello ", end_stream=False)
    c.send_data(1, b"world", end_stream=True, pad_length=5)
    yield "post_padded", c.data_to_send()
    c = client()
    c.send_headers(1, [(":method", "PUT")] + REQUEST[1:])
    c.send_data(1, b"x" * 3000)
    c.increment_flow_control_window(65535)
    c.ping(b"12345678")
    c.reset_stream(1)
    c.send_headers(3, REQUEST + [("x-big", "v" * 20000)], end_stream=True)  # HEADERS and CONTINUATION
    c.close_connection()
    yield "put_reset_big_header_goaway", c.data_to_send()
    c = client()
    c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 100, h2.settings.SettingCodes.MAX_FRAME_SIZE: 32768})
    c.send_headers(1, REQUEST, end_stream=True)
    yield "settings_then_get", c.data_to_send()


def blocks():
    e = hpack.Encoder()
    yield "request", e.encode(REQUEST)
    yield "request_again", e.encode(REQUEST + [("custom-key", "custom-value")])
    e.header_table_size = 128
    yield "table_resized", e.encode([(":status", "200"), ("content-type", "text/plain")])
    yield "never_indexed", hpack.Encoder().encode([hpack.NeverIndexedHeaderTuple("authorization", "secret")])


def main():
    d = ROOT / "h2_connection"
    d.mkdir(parents=True, exist_ok=True)
    for name, data in connections():
        assert data.startswith(PREFACE)
        for piece in (0, 7, 63):  # the first byte picks the feeding piece size
            (d / f"{name}_{piece + 1}").write_bytes(bytes([piece]) + data[len(PREFACE):])
    d = ROOT / "hpack"
    d.mkdir(parents=True, exist_ok=True)
    for name, data in blocks():
        (d / name).write_bytes(data)


if __name__ == "__main__":
    main()

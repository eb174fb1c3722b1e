"""Certificates reused by a claim run again: only about the network built now, only once the checker accepts."""

from __future__ import annotations

import theory
from checks.expect._replay import call_key, note_network, recording_networks, reused, reusing


def test_networks_are_recorded_only_inside_the_block():
    a, b = theory.select(8, [1]), theory.select(8, [2])
    note_network(a)  # outside: nothing records it
    with recording_networks() as seen:
        note_network(a)
        note_network(b)
    assert seen == [a.content_hash, b.content_hash]


def test_a_cached_certificate_is_reused_only_about_the_same_network(tmp_path):
    net, other = theory.select(16, [3]), theory.select(16, [4])
    cert = theory.prove_routing(net, [3])
    path = tmp_path / "c.certificate.json"
    cert.save(path)
    key = call_key("expect_routing", net, support=[3])
    assert key != call_key("expect_routing", other, support=[3]) != call_key("expect_routing", net, support=[4])
    assert reused(key, net) is None  # no cached run in force
    with reusing({key: path}) as used:
        hit = reused(key, net)
        assert hit is not None and hit[1].accepted and hit[0].spec_hash == net.content_hash
        assert reused(key, other) is None  # the checker refuses it against another network
        assert reused("no such call", net) is None
    assert used == [path.name]
    path.write_text("{not json")
    with reusing({key: path}) as used:
        assert reused(key, net) is None and used == []

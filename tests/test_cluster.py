"""A three-node RabbitMQ cluster on this machine (kervan.cluster.LocalCluster, nodes separate from
the machine's own broker) carrying the real fleet while the node leading the catalog queue is
killed with SIGKILL: nothing is lost, nothing is created twice, every listing ends with
OpenCart's values on the Trendyol sandbox. Plus the multi-URL ``[amqp] url`` it relies on."""

from __future__ import annotations

import json

import pika
import pytest

from bridge import outbox
from bridge.heartbeat import wait_until
from bridge.topology import (
    Topology,
    amqp_urls,
    connection_parameters,
    connection_parameters_list,
    declare_all,
)
from kervan import demo_store
from kervan.cluster import ClusterError, LocalCluster
from sandbox.trendyol import TrendyolSandbox
from tests.fleet import Proc
from tests.test_catalog_fleet import all_ids, creates_per_barcode, desired_hashes

QUEUE = Topology.queue("catalog", "trendyol")


# -- several brokers in one [amqp] url ------------------------------------------------------------
def test_url_list_is_split_only_between_urls():
    assert amqp_urls("amqp://u:p@h1:5681/%2F, amqp://u:p@h2:5682/%2F,amqps://h3/v") == [
        "amqp://u:p@h1:5681/%2F", "amqp://u:p@h2:5682/%2F", "amqps://h3/v"]
    # A comma in a password is part of that URL, not a separator.
    assert amqp_urls("amqp://u:a,b@h1/%2F") == ["amqp://u:a,b@h1/%2F"]
    with pytest.raises(ValueError, match="empty"):
        amqp_urls(" ")


def test_each_new_connection_goes_to_the_next_node():
    url = "amqp://g:g@127.0.0.1:5991/%2F,amqp://g:g@127.0.0.1:5992/%2F,amqp://g:g@127.0.0.1:5993/%2F"
    ports = [connection_parameters(url).port for _ in range(4)]
    assert ports == [5991, 5992, 5993, 5991]
    # The list form starts with the next node in turn and holds every node once.
    assert [p.port for p in connection_parameters_list(url)] == [5992, 5993, 5991]
    assert connection_parameters(url, heartbeat=7).heartbeat == 7
    assert connection_parameters("amqp://g:g@127.0.0.1:5994/%2F").port == 5994


def test_declare_skips_a_dead_broker_in_the_list(amqp_url):
    # Port 1 refuses at once: the first "node" is down, the declaration goes to the live one.
    dead = amqp_url.replace("127.0.0.1:5672", "127.0.0.1:1")
    assert dead != amqp_url
    declare_all(f"{dead},{amqp_url}", Topology())
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        assert conn.channel().queue_declare(QUEUE, passive=True).method.queue == QUEUE
    finally:
        conn.close()


# -- the cluster ------------------------------------------------------------------------------------
@pytest.fixture
def cluster():
    c = LocalCluster(3, base_port=5681)
    try:
        c.start()
    except ClusterError as exc:
        pytest.skip(f"a local 3-node RabbitMQ cluster cannot start here: {exc}")
    yield c
    c.stop()


@pytest.fixture
def sandbox():
    sb = TrendyolSandbox(batch_delay=0.1).start()
    yield sb
    sb.stop()


def listings_match_opencart(db, expected: dict[int, str]) -> bool:
    rows = db.query("SELECT product_id, status, content_hash FROM {p}kervan_listing")
    return len(rows) == len(expected) and all(
        r["status"] == "synced" and r["content_hash"] == expected[r["product_id"]] for r in rows)


@pytest.mark.chaos
def test_killing_the_queue_leader_node_loses_nothing(cluster, store41, cfg_factory, sandbox, tmp_path):
    store = store41
    demo_store.install(store, sandbox.base_url)
    cfg = cfg_factory(store, cluster.url, worker={"batch_poll_interval": "0.2", "retry_tiers": "1,2,3"})
    assert cluster.running_nodes() == {n.name for n in cluster.nodes}
    # Creates are slow at Trendyol so the kill lands while messages are in flight.
    sandbox.set_faults("create", latency=1.0)
    relay = Proc(cfg, "relay", log_dir=tmp_path)
    worker = Proc(cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
    ids = all_ids(store)
    first, rest = ids[: len(ids) // 2], ids[len(ids) // 2:]
    try:
        outbox.write_many(store, [outbox.product_saved(pid) for pid in first])
        assert wait_until(lambda: sandbox.request_log()["counts"].get("create", {}).get("total", 0) >= 1, 60), \
            worker.log()[-3000:]
        # Quorum queue on all three nodes: one down still leaves a majority.
        members = cluster.quorum_status(QUEUE)
        assert {m["Node Name"] for m in members} == {n.name for n in cluster.nodes}
        victim = cluster.leader(QUEUE)
        # Connections spread over the nodes (each new one goes to the next URL), so the leader's
        # node also serves part of the fleet: its death is felt by the relay or the worker.
        assert cluster.clients_of(victim.index) >= 1
        cluster.kill(victim.index)
        survivors = {n.name for n in cluster.nodes if n is not victim}
        assert cluster.running_nodes() == survivors
        # While the node is down: the rest of the catalog and a price and a stock change.
        store.execute("UPDATE {p}product SET price = 250 WHERE product_id = 42")
        store.execute("UPDATE {p}product SET quantity = 3 WHERE product_id = 40")
        outbox.write_many(store, [outbox.product_saved(pid) for pid in [*rest, 42, 40]])
        sandbox.clear_faults("create")
        expected = desired_hashes(store)
        assert wait_until(lambda: listings_match_opencart(store, expected), 120), \
            f"killed {victim.name}\nworker:\n{worker.log()[-3000:]}\nrelay:\n{relay.log()[-2000:]}"
        assert wait_until(lambda: store.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox "
                                            "WHERE published_at IS NULL")["n"] == 0, 30)
        # The node comes back on its own data and the queue has its third member again.
        cluster.restart(victim.index)
        assert cluster.running_nodes() == {n.name for n in cluster.nodes}
        assert wait_until(lambda: sorted(m["Raft State"] for m in cluster.quorum_status(QUEUE))
                          == ["follower", "follower", "leader"], 30)
        assert worker.term() == 0 and relay.term() == 0
    finally:
        worker.term()
        relay.term()
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_parked")["n"] == 0
    creates = creates_per_barcode(sandbox)
    assert creates and max(creates.values()) == 1, f"a product was created twice: {creates}"
    held = {p["barcode"]: p for p in sandbox.products()}
    rows = {r["product_id"]: r for r in store.query("SELECT * FROM {p}kervan_listing")}
    assert set(rows) == set(ids) and len(held) == len(ids)
    for r in rows.values():
        confirmed = json.loads(r["confirmed_body"])
        on_sandbox = held[r["remote_sku"]]
        for key in ("quantity", "listPrice", "salePrice"):
            assert on_sandbox[key] == pytest.approx(confirmed[key]), (r["product_id"], key)
    assert held[rows[40]["remote_sku"]]["quantity"] == 3
    assert held[rows[42]["remote_sku"]]["listPrice"] == pytest.approx(250 * 1.2 + 2)

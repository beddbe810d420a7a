<?php
namespace Kervan\Test;

use Opencart\System\Library\Extension\Kervan\Outbox;

final class OutboxTest extends TestCase {
	public function testDemoDatabaseIsLoaded(): void {
		$this->assertSame(19, (int)$this->db->query("SELECT COUNT(*) AS n FROM `" . DB_PREFIX . "product`")->row['n']);
	}

	public function testUuid4(): void {
		$seen = [];

		for ($i = 0; $i < 200; $i++) {
			$u = Outbox::uuid4();
			$this->assertMatchesRegularExpression('/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $u);
			$seen[$u] = true;
		}

		$this->assertCount(200, $seen);
	}

	public function testIdCasting(): void {
		$this->assertSame(42, Outbox::id('42'));
		$this->assertSame(42, Outbox::id(42));
		$this->assertSame(42, Outbox::id(' 42 '));
		$this->assertSame(0, Outbox::id('42abc'));
		$this->assertSame(0, Outbox::id(null));
		$this->assertSame(0, Outbox::id([42]));
		$this->assertSame(0, Outbox::id(-5));
		$this->assertSame(0, Outbox::id(''));
		$this->assertSame(7, Outbox::id(7.0));
	}

	public function testWriteRowMatchesTheContract(): void {
		$outbox = Outbox::fromRegistry($this->registry);
		$this->assertSame($outbox, Outbox::fromRegistry($this->registry), 'one instance per request');
		$this->db->queries = [];
		$id = $outbox->write('order.status_changed', '7', ['order_id' => 7, 'old_status_id' => 0, 'new_status_id' => 1], 'storefront');
		$this->assertNotNull($id);
		$this->assertCount(1, $this->db->queries, 'one statement per event');
		$this->assertStringStartsWith('INSERT INTO `oc_kervan_outbox`', $this->db->queries[0]);
		[$row] = $this->outboxRows();
		$this->assertSame($id, $row['event_id']);
		$this->assertSame('order.status_changed', $row['event_type']);
		$this->assertSame('order', $row['aggregate_type']);
		$this->assertSame('7', $row['aggregate_id']);
		$this->assertSame(['order_id' => 7, 'old_status_id' => 0, 'new_status_id' => 1], json_decode($row['payload'], true));
		$this->assertNull($row['correlation_id']);
		$this->assertSame('storefront', $row['source']);
		$this->assertNull($row['published_at']);
		$this->assertNotEmpty($row['created_at']);
	}

	public function testUnknownTypeOrSourceIsRefusedAndLogged(): void {
		$outbox = Outbox::fromRegistry($this->registry);
		$this->assertNull($outbox->write('product.updated', '1', [], 'admin'));
		$this->assertNull($outbox->write('product.saved', '1', ['product_id' => 1], 'opencart'));
		$this->assertSame([], $this->outboxRows());
		$this->assertCount(2, $this->log());
	}

	public function testCommandPayloads(): void {
		$outbox = Outbox::fromRegistry($this->registry);
		$outbox->resync('trendyol', ['3', 4, 'x', 3]);
		$outbox->resync('n11');
		$outbox->replay(['5', 6]);
		$outbox->channelPause('trendyol');
		$outbox->channelPause('trendyol', false);
		$this->assertNull($outbox->resync('trendyol', ['x']), 'nothing valid to resync');
		$rows = $this->outboxRows();
		$got = array_map(fn ($r) => [$r['event_type'], $r['aggregate_type'] . ':' . $r['aggregate_id'], json_decode($r['payload'], true), $r['source']], $rows);
		$this->assertSame([
			['cmd.resync', 'channel:trendyol', ['channel' => 'trendyol', 'product_ids' => [3, 4]], 'admin'],
			['cmd.resync', 'channel:n11', ['channel' => 'n11'], 'admin'],
			['cmd.replay', 'parked:5', ['parked_ids' => [5, 6]], 'admin'],
			['cmd.channel_pause', 'channel:trendyol', ['channel' => 'trendyol'], 'admin'],
			['cmd.channel_resume', 'channel:trendyol', ['channel' => 'trendyol'], 'admin'],
		], $got);
	}

	public function testDatabaseFailureNeverEscapes(): void {
		$outbox = new Outbox($this->db, 'missing_prefix_', $this->registry->get('log'), DIR_LOGS . Outbox::ERROR_FILE);
		$this->assertNull($outbox->productSaved(42));
		$this->assertStringContainsString('Kervan outbox write failed', $this->log()[0]);
		$this->assertStringContainsString('product.saved 42', file_get_contents(DIR_LOGS . Outbox::ERROR_FILE));
		$this->assertNotSame('', $outbox->lastError());
	}
}

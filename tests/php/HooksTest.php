<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Event\Product;
use Opencart\Catalog\Controller\Extension\Kervan\Event\Order;

/** Each handler, called the way OpenCart's event system calls it, writes the expected outbox row. */
final class HooksTest extends TestCase {
	private function types(): array {
		return array_map(fn ($r) => [$r['event_type'], $r['aggregate_id'], json_decode($r['payload'], true), $r['source']], $this->outboxRows());
	}

	public function testProductEditWithStringIdWritesOneRow(): void {
		$route = 'catalog/product.editProduct';
		$args = ['42', ['model' => 'x']];
		$output = null;
		(new Product($this->registry))->edit($route, $args, $output);
		$this->assertSame([['product.saved', '42', ['product_id' => 42], 'admin']], $this->types());
	}

	public function testEditThenEditVariantOfTheSameProductInOneRequestIsOneRow(): void {
		$r = '';
		$a = [5, '42', []];
		$o = null;
		$edit = [42, []];
		(new Product($this->registry))->editVariant($r, $a, $o);
		(new Product($this->registry))->edit($r, $edit, $o);
		$this->assertCount(1, $this->outboxRows());
	}

	public function testAddCopyVariantUseTheReturnedId(): void {
		$r = '';
		$args = [['model' => 'new']];
		$out = 101;
		(new Product($this->registry))->add($r, $args, $out);
		$copyArgs = ['42'];
		$copyOut = '102';
		(new Product($this->registry))->copy($r, $copyArgs, $copyOut);
		$void = null; // 4.0.2.3 copyProduct returns nothing: no row from the copy hook itself
		(new Product($this->registry))->copy($r, $copyArgs, $void);
		$vArgs = [42, []];
		$vOut = 103;
		(new Product($this->registry))->addVariant($r, $vArgs, $vOut);
		$this->assertSame(['101', '102', '103'], array_column($this->outboxRows(), 'aggregate_id'));
	}

	public function testDelete(): void {
		$r = '';
		$a = ['30'];
		(new Product($this->registry))->delete($r, $a);
		$this->assertSame([['product.deleted', '30', ['product_id' => 30], 'admin']], $this->types());
	}

	public function testMissingOrHostileArgsWriteNothingAndDoNotThrow(): void {
		$r = '';
		$empty = [];
		$null = null;
		$bad = [['array'], 'x'];
		$h = new Product($this->registry);
		$h->edit($r, $empty, $null);
		$h->editVariant($r, $empty, $null);
		$h->delete($r, $bad);
		$h->add($r, $empty, $null);
		$this->assertSame([], $this->outboxRows());
	}

	public function testOutboxFailureIsLoggedNotThrown(): void {
		$this->db->query("RENAME TABLE `" . DB_PREFIX . "kervan_outbox` TO `" . DB_PREFIX . "kervan_outbox_away`");

		try {
			$r = '';
			$a = [42, []];
			$o = null;
			(new Product($this->registry))->edit($r, $a, $o);
			$oa = [1, 1];
			(new Order($this->registry))->historyBefore($r, $oa);
			(new Order($this->registry))->historyAfter($r, $oa, $o);
		} finally {
			$this->db->query("RENAME TABLE `" . DB_PREFIX . "kervan_outbox_away` TO `" . DB_PREFIX . "kervan_outbox`");
		}

		$this->assertNotEmpty($this->log());
		$this->assertStringContainsString('Kervan outbox write failed', $this->log()[0]);
		$this->assertFileExists(DIR_LOGS . 'kervan_outbox_error.log');
	}

	private function order(int $status): int {
		// Same session sql_mode as OpenCart: omitted NOT NULL columns get '' / 0 on 4.0.2.3.
		$this->db->query("INSERT INTO `" . DB_PREFIX . "order` SET `store_id` = 0, `firstname` = 'A', `order_status_id` = '" . $status . "', `date_added` = NOW(), `date_modified` = NOW()");

		return $this->db->getLastId();
	}

	public function testOrderCreatedAndStatusTransitions(): void {
		$r = 'checkout/order.addOrder';
		$order_id = $this->order(0);
		$args = [['products' => []]];
		$out = $order_id;
		(new Order($this->registry))->created($r, $args, $out);

		// COD confirm passes only [order_id, "1"] (strings, trailing args missing).
		$h = ['' . $order_id, '1'];
		(new Order($this->registry))->historyBefore($r, $h);
		$this->db->query("UPDATE `" . DB_PREFIX . "order` SET `order_status_id` = 1 WHERE `order_id` = '" . $order_id . "'");
		$o = null;
		(new Order($this->registry))->historyAfter($r, $h, $o);

		// Same status again (a comment only): no status row.
		(new Order($this->registry))->historyBefore($r, $h);
		(new Order($this->registry))->historyAfter($r, $h, $o);

		// A change 1 -> 7 with all five args.
		$h7 = [$order_id, 7, 'cancel', true, false];
		(new Order($this->registry))->historyBefore($r, $h7);
		$this->db->query("UPDATE `" . DB_PREFIX . "order` SET `order_status_id` = 7 WHERE `order_id` = '" . $order_id . "'");
		(new Order($this->registry))->historyAfter($r, $h7, $o);

		$this->assertSame([
			['order.created', (string)$order_id, ['order_id' => $order_id], 'storefront'],
			['order.status_changed', (string)$order_id, ['order_id' => $order_id, 'old_status_id' => 0, 'new_status_id' => 1], 'storefront'],
			['order.status_changed', (string)$order_id, ['order_id' => $order_id, 'old_status_id' => 1, 'new_status_id' => 7], 'storefront'],
		], $this->types());
	}

	public function testOrderHooksIgnoreJunk(): void {
		$r = '';
		$junk = [null];
		$o = null;
		(new Order($this->registry))->created($r, $junk, $o);
		(new Order($this->registry))->historyBefore($r, $junk);
		(new Order($this->registry))->historyAfter($r, $junk, $o);
		$this->assertSame([], $this->outboxRows());
	}
}

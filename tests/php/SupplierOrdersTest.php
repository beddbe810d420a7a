<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Marketplace\Supplier;
use Opencart\System\Library\Extension\Kervan\Installer;

/**
 * The "Supplier orders" section of the Suppliers page (kervan_supplier_order, written by the
 * dropship worker): states and errors in words, escaped; links with user_token; paginated in SQL,
 * newest first; "send again" queues exactly one cmd.dropship retry through the outbox, and only for
 * an on-hold or failed forward of a user allowed to modify.
 */
final class SupplierOrdersTest extends TestCase {
	public const HOSTILE = '<script>alert(1)</script>';

	private function addSupplier(string $code, string $name): int {
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_supplier` SET `code` = '" . $this->db->escape($code) . "', `name` = '" . $this->db->escape($name) . "', `feed` = '{}', `rules` = '{}'");

		return (int)$this->db->getLastId();
	}

	private function addForward(int $order_id, int $supplier_id, string $state, array $fields = []): void {
		$set = "`order_id` = '" . $order_id . "', `supplier_id` = '" . $supplier_id . "', `idempotency_key` = '" . $this->db->escape(sprintf('00000000-0000-4000-8000-%012d', $order_id * 1000 + $supplier_id)) . "', `state` = '" . $this->db->escape($state) . "'";

		foreach ($fields as $key => $value) {
			$set .= ", `" . $key . "` = '" . $this->db->escape((string)$value) . "'";
		}

		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_supplier_order` SET " . $set);
	}

	private function render(?\Opencart\System\Engine\Registry $registry = null): string {
		$registry ??= $this->registry;
		(new Supplier($registry))->index();

		return $registry->get('response')->getOutput();
	}

	private function retry(array $post, ?\Opencart\System\Engine\Registry $registry = null): array {
		$registry ??= $this->registry;
		$registry->get('request')->post = $post;
		(new Supplier($registry))->retry();

		return json_decode($registry->get('response')->getOutput(), true) ?? [];
	}

	/** The section's rows as the template received them. */
	private function rows(): array {
		[, $data] = end($this->registry->get('load')->views);

		return $data['supplier_orders'];
	}

	private function seedHostile(): int {
		$sid = $this->addSupplier('acme', 'Acme ' . self::HOSTILE);
		$this->addForward(7, $sid, 'on_hold', ['attempts' => 1, 'last_error' => 'Stokta yok: ' . self::HOSTILE]);
		$this->addForward(8, $sid, 'shipped', ['remote_id' => 'R-' . self::HOSTILE, 'carrier' => 'Aras ' . self::HOSTILE, 'tracking_number' => 'AR' . self::HOSTILE, 'tracking_url' => 'javascript:alert(1)', 'attempts' => 1]);
		$this->addForward(9, $sid, 'sent', ['remote_id' => 'SUP-9', 'carrier' => 'Yurtiçi Kargo', 'tracking_number' => 'YK123', 'tracking_url' => 'https://track.example.com/?code=YK123&x=1', 'attempts' => 2]);
		$this->addForward(10, $sid, 'failed', ['attempts' => 3, 'last_error' => 'The supplier refused the order: no phone number']);

		return $sid;
	}

	public function testForwardsAreShownInWordsEscapedWithTokenLinks(): void {
		$this->seedHostile();
		$html = $this->render();

		$this->assertStringNotContainsString('<script>alert', $html, 'hostile strings are escaped');
		$this->assertStringContainsString('Stokta yok: &lt;script&gt;alert(1)&lt;/script&gt;', $html, 'last error shown as text');
		$this->assertStringContainsString('Acme &lt;script&gt;alert(1)&lt;/script&gt;', $html, 'supplier name shown as text');
		$this->assertStringContainsString('AR&lt;script&gt;alert(1)&lt;/script&gt;', $html, 'tracking number shown as text');
		$this->assertStringContainsString('Aras &lt;script&gt;alert(1)&lt;/script&gt;', $html, 'carrier shown as text');
		$this->assertStringContainsString('R-&lt;script&gt;alert(1)&lt;/script&gt;', $html, "supplier's order id shown as text");
		$this->assertStringNotContainsString('href="javascript:', $html, 'a tracking URL that is not a web address is no link');
		$this->assertStringContainsString('href="https://track.example.com/?code=YK123&amp;x=1"', $html);

		foreach (['On hold: the supplier is out of stock', 'Shipped by the supplier', 'Sent to the supplier', 'Failed: the supplier refused it', 'The supplier refused the order: no phone number'] as $words) {
			$this->assertStringContainsString($words, $html);
		}

		$sep = version_compare(VERSION, '4.0.2.0', '>=') ? '.' : '|';

		foreach ([7, 8, 9, 10] as $order_id) {
			$this->assertStringContainsString('href="' . htmlspecialchars('http://shop.test/admin/index.php?route=sale/order' . $sep . 'info&user_token=tok3n&order_id=' . $order_id, ENT_QUOTES) . '"', $html);
		}

		// "Send again" for the on-hold and the failed forward only, posting to retry with the token.
		$this->assertSame(2, substr_count($html, 'Send again'));
		$this->assertStringContainsString('action="' . htmlspecialchars('http://shop.test/admin/index.php?route=extension/kervan/marketplace/supplier' . $sep . 'retry&user_token=tok3n', ENT_QUOTES) . '"', $html);
		$rows = $this->rows();
		$this->assertSame([10, 9, 8, 7], array_column($rows, 'order_id'), 'newest first');
		$this->assertSame([true, false, false, true], array_column($rows, 'retryable'));

		// Without modify permission the page shows the forwards but no button.
		$html = $this->render($this->registry(Installer::ROUTES, []));
		$this->assertStringContainsString('On hold: the supplier is out of stock', $html);
		$this->assertStringNotContainsString('Send again', $html);
	}

	public function testStatesAreSaidInTurkishToo(): void {
		$this->seedHostile();
		$this->registry->get('language')->code = 'tr-tr';
		$html = $this->render();

		foreach (['Beklemede: tedarikçide stok yok', 'Tedarikçi kargoladı', 'Tedarikçiye gönderildi', 'Başarısız: tedarikçi reddetti', 'Yeniden gönder'] as $words) {
			$this->assertStringContainsString($words, $html);
		}

		$this->assertStringNotContainsString('text_state_', $html, 'every state has its words');
	}

	public function testPaginatedInSqlNewestFirstAndPerSupplier(): void {
		$a = $this->addSupplier('alfa', 'Alfa');
		$b = $this->addSupplier('beta', 'Beta');

		for ($i = 1; $i <= 25; $i++) {
			$this->addForward(100 + $i, $a, 'sent');
		}

		$this->addForward(200, $b, 'failed', ['last_error' => 'no phone']);
		$this->render();
		$this->assertSame([200, 125, 124, 123, 122, 121, 120, 119, 118, 117], array_column($this->rows(), 'order_id'));
		[, $data] = end($this->registry->get('load')->views);
		$this->assertStringContainsString('data-total="26"', $data['pagination']);
		$this->assertSame('Showing 1 to 10 of 26 (3 Pages)', $data['results']);
		$this->assertTrue((bool)array_filter($this->db->queries, fn ($q) => str_contains($q, 'kervan_supplier_order') && str_contains($q, 'LIMIT 0,10')), 'LIMIT in SQL');

		$this->registry->get('request')->get = ['page' => '3'];
		$this->render();
		$this->assertSame([106, 105, 104, 103, 102, 101], array_column($this->rows(), 'order_id'));
		$this->assertTrue((bool)array_filter($this->db->queries, fn ($q) => str_contains($q, 'kervan_supplier_order') && str_contains($q, 'LIMIT 20,10')));

		// With a supplier open, its forwards only; the page links keep the supplier.
		$this->registry->get('request')->get = ['supplier_id' => (string)$b];
		$this->render();
		$this->assertSame([200], array_column($this->rows(), 'order_id'));
		$this->registry->get('request')->get = ['supplier_id' => (string)$a];
		$this->render();
		[, $data] = end($this->registry->get('load')->views);
		$this->assertStringContainsString('supplier_id=' . $a, html_entity_decode($data['pagination']));
		$this->assertStringContainsString('user_token=tok3n', html_entity_decode($data['pagination']));
	}

	public function testSendAgainQueuesExactlyOneDropshipRetry(): void {
		$sid = $this->seedHostile();
		$json = $this->retry(['order_id' => '7', 'supplier_id' => (string)$sid]);
		$this->assertSame(['success' => 'Order #7 will be sent to the supplier again.'], $json);
		$rows = $this->outboxRows();
		$this->assertCount(1, $rows);
		$this->assertSame('cmd.dropship', $rows[0]['event_type']);
		$this->assertSame('supplier', $rows[0]['aggregate_type']);
		$this->assertSame((string)$sid, $rows[0]['aggregate_id']);
		$this->assertSame('admin', $rows[0]['source']);
		// The exact text tests/test_dropship_admin_retry.py hands to the dropship worker.
		$this->assertSame('{"channel":"suppliers","action":"retry","order_id":7,"supplier_id":' . $sid . '}', $rows[0]['payload']);
		$this->assertSame('on_hold', $this->db->query("SELECT `state` FROM `" . DB_PREFIX . "kervan_supplier_order` WHERE `order_id` = 7")->row['state'], 'the page changes no forward itself');

		$json = $this->retry(['order_id' => '10', 'supplier_id' => (string)$sid]);
		$this->assertArrayHasKey('success', $json, 'a failed forward can be sent again too');
		$this->assertCount(2, $this->outboxRows());
		$this->assertSame(['channel' => 'suppliers', 'action' => 'retry', 'order_id' => 10, 'supplier_id' => $sid], json_decode($this->outboxRows()[1]['payload'], true));
	}

	public function testSendAgainIsRefusedAndWritesNothing(): void {
		$sid = $this->seedHostile();

		$json = $this->retry(['order_id' => '9', 'supplier_id' => (string)$sid]);
		$this->assertSame('Only an order on hold or failed can be sent again; this one is: Sent to the supplier.', $json['error'] ?? null);
		$json = $this->retry(['order_id' => '8', 'supplier_id' => (string)$sid]);
		$this->assertStringContainsString('Shipped by the supplier', $json['error'] ?? '');

		foreach ([['order_id' => '7', 'supplier_id' => '999'], ['order_id' => '404', 'supplier_id' => (string)$sid], ['order_id' => "7' OR 1=1 -- ", 'supplier_id' => (string)$sid], ['order_id' => ['7'], 'supplier_id' => (string)$sid], []] as $bad) {
			$json = $this->retry($bad);
			$this->assertSame('Warning: This order was never forwarded to that supplier!', $json['error'] ?? null, json_encode($bad));
		}

		$readonly = $this->registry(Installer::ROUTES, []);
		$json = $this->retry(['order_id' => '7', 'supplier_id' => (string)$sid], $readonly);
		$this->assertSame('Warning: You do not have permission to modify Kervan marketplaces!', $json['error'] ?? null);
		$this->assertSame([], $this->outboxRows(), 'nothing was queued');
	}
}

<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Marketplace\Supplier;

/**
 * The Suppliers page on kervan_supplier: saving the feed, login (write-only), mapping and rules;
 * the last feed runs said in words with the quarantine reason; "import now" queues
 * cmd.import_feed through the outbox.
 */
final class SupplierTest extends TestCase {
	private function post(array $post): array {
		$this->registry->get('request')->post = $post;
		(new Supplier($this->registry))->save();

		return $this->json();
	}

	private function row(): array {
		return $this->db->query("SELECT * FROM `" . DB_PREFIX . "kervan_supplier` ORDER BY `supplier_id` DESC LIMIT 1")->row;
	}

	private function valid(array $over = []): array {
		return $over + [
			'supplier_id' => '0', 'code' => 'tedarik', 'name' => 'Tedarik A.Ş.', 'url' => 'https://feeds.example.com/x.xml?a=1&amp;b=2',
			'format' => 'xml', 'preset' => 'urun', 'auth_kind' => 'basic', 'auth_username' => 'kullanici', 'auth_secret' => 'S3CR3T-VALUE',
			'mapping' => '{&quot;fields&quot;: {&quot;brand&quot;: &quot;marka&quot;}}',
			'rules' => '{"price": {"markups": [{"percent": "25"}]}, "categories": {"map": {"Elektronik > Telefon": 24}}}',
			'new_products' => 'create_enabled', 'missing_products' => 'disable', 'interval' => '30', 'enabled' => '1',
		];
	}

	public function testSaveStoresFeedRulesAndIntervalAndKeepsTheSecret(): void {
		$json = $this->post($this->valid());
		$this->assertArrayHasKey('success', $json, json_encode($json));
		$row = $this->row();
		$this->assertSame('tedarik', $row['code']);
		$this->assertSame('Tedarik A.Ş.', $row['name']);
		$this->assertSame('1800', (string)$row['import_interval']);
		$feed = json_decode($row['feed'], true);
		$this->assertSame('https://feeds.example.com/x.xml?a=1&b=2', $feed['url'], 'the URL is stored as typed, not HTML-escaped');
		$this->assertSame(['brand' => 'marka'], $feed['fields']);
		$this->assertSame('urun', $feed['preset']);
		$this->assertSame(['kind' => 'basic', 'username' => 'kullanici', 'password' => 'S3CR3T-VALUE'], $feed['auth']);
		$rules = json_decode($row['rules'], true);
		$this->assertSame('create_enabled', $rules['new_products']);
		$this->assertSame('disable', $rules['missing_products']);
		$this->assertSame([24], array_values($rules['categories']['map']));

		// Saved again with an empty secret: the stored one stays; it is never shown.
		$json = $this->post($this->valid(['supplier_id' => $row['supplier_id'], 'auth_secret' => '', 'name' => 'Yeni Ad']));
		$this->assertArrayHasKey('success', $json);
		$this->assertSame('S3CR3T-VALUE', json_decode($this->row()['feed'], true)['auth']['password']);
		$this->assertSame('Yeni Ad', $this->row()['name']);
		$this->assertSame(1, (int)$this->db->query("SELECT COUNT(*) AS n FROM `" . DB_PREFIX . "kervan_supplier`")->row['n']);

		$this->registry->get('request')->get = ['supplier_id' => $row['supplier_id']];
		(new Supplier($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();
		$this->assertStringNotContainsString('S3CR3T-VALUE', $html);
		$this->assertStringContainsString('(stored; leave empty to keep)', $html);
		$this->assertStringContainsString('&quot;brand&quot;: &quot;marka&quot;', $html, 'the mapping is shown for editing');
	}

	public function testBadInputIsRefusedAndNothingStored(): void {
		foreach ([['code' => 'Bad Code'], ['url' => 'ftp://x'], ['mapping' => '{not json'], ['rules' => '[1,2]'], ['format' => 'pdf'], ['new_products' => 'delete'], ['interval' => '1'], ['name' => '']] as $bad) {
			$json = $this->post($this->valid($bad));
			$this->assertArrayHasKey('error', $json, json_encode($bad));
		}

		$this->assertSame(0, (int)$this->db->query("SELECT COUNT(*) AS n FROM `" . DB_PREFIX . "kervan_supplier`")->row['n']);
		$this->post($this->valid());
		$json = $this->post($this->valid(['name' => 'İkinci']));
		$this->assertSame('Another supplier already has this code.', $json['error']['code']);
	}

	public function testRunsAreShownInWordsAndImportNowQueuesTheCommand(): void {
		$this->post($this->valid());
		$id = (int)$this->row()['supplier_id'];
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_feed_run` SET `supplier_id` = '" . $id . "', `outcome` = 'quarantined', `items` = 3, `reason` = 'The feed lists 3 products, far fewer than the 100 of the last good import', `problems` = '{\"total\": 7, \"shown\": [{\"record\": 12, \"code\": \"SKU-12\", \"reason\": \"no price\"}]}'");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_feed_run` SET `supplier_id` = '" . $id . "', `outcome` = 'applied', `items` = 100, `created` = 4, `updated` = 2, `unchanged` = 94");
		(new Supplier($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();
		$this->assertStringContainsString('Quarantined: nothing changed', $html);
		$this->assertStringContainsString('far fewer than the 100 of the last good import', $html);
		$this->assertStringContainsString('record 12 (SKU-12): no price', $html);
		$this->assertStringContainsString('7 record(s) with problems', $html);
		$this->assertStringContainsString('100 items: 4 new, 2 updated, 94 unchanged, 0 gone from the feed', $html);

		$this->registry->get('request')->post = ['supplier_id' => (string)$id];
		(new Supplier($this->registry))->import();
		$this->assertArrayHasKey('success', $this->json());
		$rows = $this->outboxRows();
		$this->assertSame(['cmd.import_feed'], array_column($rows, 'event_type'));
		$this->assertSame('supplier', $rows[0]['aggregate_type']);
		$this->assertSame('tedarik', $rows[0]['aggregate_id']);
		$this->assertSame(['channel' => 'tedarik', 'supplier' => 'tedarik', 'manual' => true], json_decode($rows[0]['payload'], true));

		$this->registry->get('request')->post = ['supplier_id' => '999'];
		(new Supplier($this->registry))->import();
		$this->assertArrayHasKey('error', $this->json());
		$this->assertCount(1, $this->outboxRows());
	}
}

<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Event\Menu;
use Opencart\System\Library\Extension\Kervan\Installer;

/**
 * The Marketplaces pages rendered through the stand-in loader with Debian's Twig (autoescape off,
 * as in OpenCart): hostile marketplace/supplier strings are escaped, credentials never echoed,
 * every link carries user_token, lists paginate, and users without permission are refused.
 */
final class PagesTest extends TestCase {
	public const HOSTILE = '<script>alert(1)</script>';
	public const PAGES = ['dashboard', 'channel', 'listing', 'mapping', 'rule', 'order', 'supplier', 'parked'];

	private function page(string $page, ?\Opencart\System\Engine\Registry $registry = null): object {
		$class = 'Opencart\\Admin\\Controller\\Extension\\Kervan\\Marketplace\\' . ucfirst($page);

		return new $class($registry ?? $this->registry);
	}

	private function seedHostile(): int {
		$h = $this->db->escape(self::HOSTILE);
		$channel = $this->addChannel('trendyol', 'Trendyol ' . self::HOSTILE);
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_listing` SET `channel_id` = '" . $channel . "', `product_id` = 42, `remote_sku` = '" . $h . "', `status` = 'failed', `last_error` = '" . $h . " barcode'");
		for ($i = 1; $i <= 25; $i++) {
			$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_listing` SET `channel_id` = '" . $channel . "', `product_id` = '" . (1000 + $i) . "', `status` = 'synced', `synced_at` = NOW() - INTERVAL " . ($i % 20) . " HOUR");
		}
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_parked` SET `message_id` = 'm1', `queue` = 'q" . $h . "', `event_type` = 'product.saved', `body` = '" . $h . "', `reason` = '" . $h . "', `attempts` = 5");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_heartbeat` SET `process_id` = 'p" . $h . "', `role` = 'catalog', `channel` = 'trendyol', `host` = '" . $h . "', `pid` = 1, `state` = 'running', `counters` = '{\"breaker_open\":1}'");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_mapping` SET `channel_id` = '" . $channel . "', `kind` = 'category', `local_id` = '20', `remote_id` = '" . $h . "', `extra` = '{\"x\":\"" . $h . "\"}'");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_order_link` SET `channel_id` = '" . $channel . "', `remote_order_id` = '" . $h . "', `order_id` = 1, `remote_status` = '" . $h . "', `flags` = '" . $h . "'");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_supplier` SET `code` = 'acme', `name` = '" . $h . "', `feed` = '" . $this->db->escape(json_encode(['url' => 'https://x/' . self::HOSTILE, 'format' => 'xml', 'auth' => ['kind' => 'basic', 'username' => 'u', 'password' => 'S3CR3T-VALUE']])) . "', `rules` = '{}'");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_feed_run` SET `supplier_id` = (SELECT MAX(`supplier_id`) FROM `" . DB_PREFIX . "kervan_supplier`), `outcome` = 'quarantined', `reason` = '" . $h . "', `problems` = '" . $this->db->escape(json_encode(['total' => 1, 'shown' => [['record' => 3, 'code' => self::HOSTILE, 'reason' => self::HOSTILE]]])) . "'");
		file_put_contents(DIR_LOGS . 'kervan_outbox_error.log', "2026-01-01 " . self::HOSTILE . "\n");

		return $channel;
	}

	/** @return array<string, array{string}> */
	public static function pages(): array {
		return array_combine(self::PAGES, array_map(fn ($p) => [$p], self::PAGES));
	}

	public function testOrderFlagsAreSaidInWordsAndShipmentsShown(): void {
		$channel = $this->addChannel('trendyol', 'Trendyol');
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_order_link` SET `channel_id` = '" . $channel . "', `remote_order_id` = 'PKG-1', `order_id` = 1, `remote_status` = 'Shipped', `flags` = 'unknown_sku,ship_failed: Paket <b>bulunamadı</b>', `tracking_number` = 'YK123456789', `shipped_at` = NOW()");
		$this->page('order')->index();
		$html = $this->registry->get('response')->getOutput();

		$this->assertStringContainsString('A product on this order is not in OpenCart', $html);
		$this->assertStringContainsString('The marketplace refused the shipment: Paket &lt;b&gt;bulunamadı&lt;/b&gt;', $html);
		$this->assertStringNotContainsString('unknown_sku', $html);
		$this->assertStringContainsString('YK123456789', $html);
	}

	/** @dataProvider pages */
	public function testPageRendersEscapedWithTokenLinks(string $page): void {
		$channel = $this->seedHostile();
		$this->registry->get('request')->get = ['channel_id' => (string)$channel, 'filter_channel_id' => (string)$channel];
		$this->page($page)->index();
		$html = $this->registry->get('response')->getOutput();

		$this->assertNotSame('', $html);
		$this->assertStringNotContainsString('<script>alert', $html, 'hostile strings are escaped');
		$this->assertStringNotContainsString('S3CR3T-VALUE', $html, 'credentials are never echoed');
		$this->assertSame([], $this->log(), 'no PHP-side errors logged');

		preg_match_all('/(?:href|action|formaction)="([^"]*)"/', $html, $m);
		$this->assertNotEmpty($m[1]);

		foreach ($m[1] as $url) {
			if ($url === 'index.php') {
				$this->assertStringContainsString('name="user_token" value="tok3n"', $html, 'GET filter form carries the token');
				continue;
			}

			$this->assertStringContainsString('user_token=tok3n', html_entity_decode($url), $page . ': ' . $url);
			// A link escaped twice (`&amp;amp;`) reaches the browser as `&amp;user_token=`: the token is lost.
			$this->assertStringNotContainsString('&amp;', html_entity_decode($url), $page . ' double-escaped: ' . $url);
		}

		if (in_array($page, ['dashboard', 'listing', 'channel', 'mapping', 'order', 'parked', 'supplier'], true)) {
			$this->assertStringContainsString('&lt;script&gt;alert(1)&lt;/script&gt;', $html, 'the hostile value is shown as text');
		}
	}

	public function testListingPaginatesInSql(): void {
		$this->seedHostile();
		$this->page('listing')->index();
		[, $data] = end($this->registry->get('load')->views);
		$this->assertCount(10, $data['listings']);
		$this->assertStringContainsString('data-total="26"', $data['pagination']);
		$this->assertTrue((bool)array_filter($this->db->queries, fn ($q) => str_contains($q, 'kervan_listing') && str_contains($q, 'LIMIT 0,10')));

		$this->registry->get('request')->get = ['page' => '3'];
		$this->page('listing')->index();
		[, $data] = end($this->registry->get('load')->views);
		$this->assertCount(6, $data['listings']);
	}

	public function testListingFilters(): void {
		$channel = $this->seedHostile();
		$this->registry->get('request')->get = ['filter_status' => 'failed', 'filter_channel_id' => (string)$channel, 'filter_search' => "barcode' OR 1=1 -- "];
		$this->page('listing')->index();
		[, $data] = end($this->registry->get('load')->views);
		$this->assertCount(0, $data['listings'], 'search is escaped, not injected');
		$this->registry->get('request')->get = ['filter_status' => 'failed', 'filter_search' => 'Cinema'];
		$this->page('listing')->index();
		[, $data] = end($this->registry->get('load')->views);
		$this->assertCount(1, $data['listings']);
		$this->assertSame('42', (string)$data['listings'][0]['product_id']);
	}

	public function testActionsWriteCommands(): void {
		$channel = $this->seedHostile();
		$req = $this->registry->get('request');

		$req->post = ['channel_id' => (string)$channel, 'selected' => ['42', '1001', 'x']];
		$this->page('listing')->resync();
		$this->assertArrayHasKey('success', $this->json());
		$this->assertStringNotContainsString('<script>', $this->json()['success'], 'channel name escaped in the JSON message');

		$req->post = ['channel_id' => (string)$channel, 'category_id' => '20'];
		$this->page('listing')->category();
		$this->assertArrayHasKey('success', $this->json());

		$req->post = ['channel_id' => (string)$channel, 'value' => '1'];
		$this->page('channel')->pause();
		$this->assertSame('1', $this->db->query("SELECT `paused` FROM `" . DB_PREFIX . "kervan_channel` WHERE `channel_id` = '" . $channel . "'")->row['paused']);

		$parked = (int)$this->db->query("SELECT `parked_id` FROM `" . DB_PREFIX . "kervan_parked`")->row['parked_id'];
		$req->post = ['selected' => [(string)$parked]];
		$this->page('parked')->replay();
		$this->page('parked')->discard();
		$this->assertSame('discarded', $this->db->query("SELECT `status` FROM `" . DB_PREFIX . "kervan_parked`")->row['status']);

		$rows = $this->outboxRows();
		$this->assertSame(['cmd.resync', 'cmd.resync', 'cmd.channel_pause', 'cmd.replay'], array_column($rows, 'event_type'));
		$this->assertSame(['channel' => 'trendyol', 'product_ids' => [42, 1001]], json_decode($rows[0]['payload'], true));
		$this->assertSame(['parked_ids' => [$parked]], json_decode($rows[3]['payload'], true));
		$this->assertSame(['admin'], array_values(array_unique(array_column($rows, 'source'))));
		$this->assertGreaterThan(0, (int)$this->db->query("SELECT COUNT(*) AS n FROM `" . DB_PREFIX . "kervan_listing` WHERE `status` = 'new'")->row['n'], 'category listing binds products');
	}

	public function testChannelCredentialsAreWriteOnly(): void {
		$channel = $this->addChannel();
		$req = $this->registry->get('request');
		$req->post = ['channel_id' => (string)$channel, 'code' => 'trendyol', 'account' => 'default', 'name' => 'TY', 'base_url' => 'https://apigw.trendyol.com', 'seller_id' => '99', 'status' => '1', 'credentials' => ['api_key' => '', 'api_secret' => 'NEW', 'integrator' => '']];
		$this->page('channel')->save();
		$this->assertArrayHasKey('success', $this->json());
		$creds = json_decode($this->db->query("SELECT `credentials` FROM `" . DB_PREFIX . "kervan_channel` WHERE `channel_id` = '" . $channel . "'")->row['credentials'], true);
		$this->assertSame(['api_key' => 'K', 'api_secret' => 'NEW'], $creds, 'empty field keeps the stored value');

		$req->get = ['channel_id' => (string)$channel];
		$this->page('channel')->form();
		$html = $this->registry->get('response')->getOutput();
		$this->assertStringNotContainsString('NEW', preg_replace('/name="[^"]*"/', '', $html));
		$this->assertStringContainsString('type="password" name="credentials[api_secret]" value=""', $html);
	}

	public function testRulesMergeIntoSettings(): void {
		$channel = $this->addChannel();
		$this->registry->get('request')->post = ['channel_id' => (string)$channel, 'price_markup_percent' => '12,5', 'price_fixed_amount' => '3', 'price_rounding' => '0.99', 'price_minimum' => '10', 'stock_buffer' => '4', 'stock_maximum' => '100'];
		$this->page('rule')->save();
		$settings = json_decode($this->db->query("SELECT `settings` FROM `" . DB_PREFIX . "kervan_channel`")->row['settings'], true);
		$this->assertSame(['stock_buffer' => 4, 'language' => 'tr-tr', 'price_markup_percent' => 12.5, 'price_fixed_amount' => 3, 'price_minimum' => 10, 'stock_maximum' => 100, 'price_rounding' => '0.99'], $settings);
	}

	/** @dataProvider pages */
	public function testActionsRefusedWithoutModify(string $page): void {
		$channel = $this->seedHostile();
		$before = $this->db->query("SELECT (SELECT COUNT(*) FROM `" . DB_PREFIX . "kervan_outbox`) a, (SELECT `settings` FROM `" . DB_PREFIX . "kervan_channel` LIMIT 1) b, (SELECT COUNT(*) FROM `" . DB_PREFIX . "kervan_mapping`) c, (SELECT GROUP_CONCAT(`status`) FROM `" . DB_PREFIX . "kervan_parked`) d, (SELECT `paused` FROM `" . DB_PREFIX . "kervan_channel` LIMIT 1) e, (SELECT GROUP_CONCAT(`name`, `code`) FROM `" . DB_PREFIX . "kervan_supplier`) f")->row;
		$readonly = $this->registry(Installer::ROUTES, []);
		$readonly->get('request')->post = ['channel_id' => (string)$channel, 'selected' => ['42', '1'], 'category_id' => '20', 'value' => '1', 'code' => 'n11', 'name' => 'x', 'base_url' => 'https://x', 'kind' => 'brand', 'local_id' => '5', 'remote_id' => '9', 'stock_buffer' => '9', 'supplier' => [['name' => 'evil']], 'supplier_id' => '1', 'url' => 'https://evil'];
		$object = $this->page($page, $readonly);
		$actions = array_diff(get_class_methods($object), get_class_methods(\Opencart\System\Library\Extension\Kervan\Page::class), ['index', 'form']);

		foreach ($actions as $action) {
			$object->$action();
			$json = json_decode($readonly->get('response')->getOutput(), true);
			$this->assertArrayHasKey('error', $json, $page . '.' . $action);
		}

		$after = $this->db->query("SELECT (SELECT COUNT(*) FROM `" . DB_PREFIX . "kervan_outbox`) a, (SELECT `settings` FROM `" . DB_PREFIX . "kervan_channel` LIMIT 1) b, (SELECT COUNT(*) FROM `" . DB_PREFIX . "kervan_mapping`) c, (SELECT GROUP_CONCAT(`status`) FROM `" . DB_PREFIX . "kervan_parked`) d, (SELECT `paused` FROM `" . DB_PREFIX . "kervan_channel` LIMIT 1) e, (SELECT GROUP_CONCAT(`name`, `code`) FROM `" . DB_PREFIX . "kervan_supplier`) f")->row;
		$this->assertSame($before, $after, 'nothing changed');
	}

	public function testMenuOnlyWithAccess(): void {
		$route = 'common/column_left';
		$data = ['menus' => [['id' => 'menu-dashboard']]];
		(new Menu($this->registry([], [])))->menu($route, $data);
		$this->assertCount(1, $data['menus'], 'no access: no menu');

		$partial = $this->registry(['extension/kervan/marketplace/dashboard', 'extension/kervan/marketplace/listing'], []);
		(new Menu($partial))->menu($route, $data);
		$this->assertCount(2, $data['menus']);
		$menu = $data['menus'][1];
		$this->assertSame('menu-kervan', $menu['id']);
		$this->assertSame('Marketplaces', $menu['name']);
		$this->assertSame(['Dashboard', 'Listings'], array_column($menu['children'], 'name'));

		foreach ($menu['children'] as $child) {
			$this->assertStringContainsString('user_token=tok3n', $child['href']);
		}

		$one = ['menus' => []];
		(new Menu($this->registry(['extension/kervan/marketplace/parked'], [])))->menu($route, $one);
		$this->assertSame(['Parked'], array_column($one['menus'][0]['children'], 'name'), 'any accessible page shows the menu');
	}

	public function testTurkishLanguageFilesHaveTheSameKeys(): void {
		foreach (glob(KERVAN_EXT . '/admin/language/en-gb/*/*.php') as $en) {
			$tr = str_replace('/en-gb/', '/tr-tr/', $en);
			$this->assertFileExists($tr);
			$_ = [];
			require $en;
			$enKeys = array_keys($_);
			$_ = [];
			require $tr;
			$this->assertSame($enKeys, array_keys($_), basename(dirname($en)) . '/' . basename($en));
		}
	}

	public function testEveryTemplateValueIsEscaped(): void {
		// OpenCart renders with autoescape off, so each {{ }} must escape, except OpenCart's own HTML parts.
		$trusted = ['header', 'column_left', 'footer', 'pagination', 'loop.index0', 'c.channel_id ? 0 : 1', 'c.paused ? 0 : 1', 'c.status ? 0 : 1'];

		foreach (glob(KERVAN_EXT . '/admin/view/template/*/*.twig') as $file) {
			preg_match_all('/\{\{\s*(.*?)\s*\}\}/s', file_get_contents($file), $m);

			foreach ($m[1] as $expr) {
				if (in_array($expr, $trusted, true)) {
					continue;
				}

				$this->assertMatchesRegularExpression('/\|e(scape)?(\(|\b)/', $expr, basename($file) . ': {{ ' . $expr . ' }}');
			}
		}
	}
}

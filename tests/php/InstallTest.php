<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Other\Kervan as KervanExtension;
use Opencart\System\Library\Extension\Kervan\Installer;

final class InstallTest extends TestCase {
	private function tables(): array {
		return array_column($this->db->query("SELECT table_name AS `t` FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'oc\\_kervan\\_%' ORDER BY 1")->rows, 't');
	}

	private function events(): array {
		return $this->db->query("SELECT `code`, `trigger`, `action`, `status` FROM `" . DB_PREFIX . "event` WHERE `code` LIKE 'kervan\\_%' ORDER BY `event_id`")->rows;
	}

	private function permissions(int $group): array {
		return json_decode($this->db->query("SELECT `permission` FROM `" . DB_PREFIX . "user_group` WHERE `user_group_id` = '" . $group . "'")->row['permission'] ?: "[]", true) ?? [];
	}

	public function testMigrationBookkeepingMatchesPython(): void {
		foreach ($this->tables() as $t) {
			$this->db->query("DROP TABLE `" . $t . "`");
		}

		$installer = new Installer($this->db, DB_PREFIX);
		$files = self::migrationFiles();
		$this->assertSame(array_keys($files), $installer->migrate(DIR_EXTENSION . 'kervan/system/sql/', DB_DATABASE), 'every file, in order');
		$this->assertSame([], $installer->migrate(DIR_EXTENSION . 'kervan/system/sql/', DB_DATABASE), 'second run applies nothing');

		$rows = $this->db->query("SELECT * FROM `" . DB_PREFIX . "kervan_migration` ORDER BY `version`")->rows;
		$this->assertSame(array_keys($files), array_column($rows, 'version'));
		$this->assertSame('core', $rows[0]['name']);
		$this->assertSame('categories', $rows[1]['name']);

		foreach ($rows as $row) {
			$this->assertSame(hash_file('sha256', $files[$row['version']]), $row['checksum']);
		}

		$this->assertContains('oc_kervan_outbox', $this->tables());
		$this->assertContains('oc_kervan_heartbeat', $this->tables());
		$this->assertContains('oc_kervan_category', $this->tables());
		$this->assertContains('oc_kervan_category_attribute', $this->tables());
		$this->assertContains('oc_kervan_cursor', $this->tables());

		// The statement splitter agrees with bridge/migrate.py: one statement per SQL keyword that
		// starts a line (continuation lines are indented or start with a backtick).
		foreach ($files as $file) {
			$sql = file_get_contents($file);
			$this->assertCount(preg_match_all('/^(CREATE|ALTER|SET|EXECUTE|INSERT|UPDATE|DELETE|DROP)\b/m', $sql), Installer::splitStatements($sql), basename($file));
		}
	}

	public function testAMigrationAppliedByPythonIsNotReapplied(): void {
		$this->db->query("DELETE FROM `" . DB_PREFIX . "kervan_migration`");

		foreach (self::migrationFiles() as $version => $file) {
			$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_migration` SET `version` = '" . $version . "', `name` = '" . substr(basename($file, '.sql'), 5) . "', `checksum` = '" . hash_file('sha256', $file) . "'");
		}

		$this->assertSame([], (new Installer($this->db, DB_PREFIX))->migrate(DIR_EXTENSION . 'kervan/system/sql/', DB_DATABASE));
	}

	public function testOnlyTheMissingMigrationsAreApplied(): void {
		$this->db->query("DROP TABLE IF EXISTS `" . DB_PREFIX . "kervan_category`");
		$this->db->query("DROP TABLE IF EXISTS `" . DB_PREFIX . "kervan_category_attribute`");
		$this->db->query("DELETE FROM `" . DB_PREFIX . "kervan_migration` WHERE `version` > '0001'");
		$this->assertSame(array_slice(array_keys(self::migrationFiles()), 1), (new Installer($this->db, DB_PREFIX))->migrate(DIR_EXTENSION . 'kervan/system/sql/', DB_DATABASE));
		$this->assertContains('oc_kervan_category', $this->tables());
		$this->assertContains('oc_kervan_category_attribute', $this->tables());
	}

	/** version => path of every schema/migrations/NNNN_name.sql, in order. */
	private static function migrationFiles(): array {
		$out = [];

		foreach (glob(KERVAN_ROOT . '/schema/migrations/*.sql') as $file) {
			$out[substr(basename($file), 0, 4)] = $file;
		}

		ksort($out);

		return $out;
	}

	/** @return array<string, array{string}> */
	public static function versions(): array {
		return ['4.1.0.4' => ['4.1.0.4'], '4.0.2.3' => ['4.0.2.3']];
	}

	/** @dataProvider versions */
	public function testEventRowsUseTheVersionsTriggerStringsAndResolve(string $version): void {
		$installer = new Installer($this->db, DB_PREFIX);
		$this->assertSame(12, $installer->registerEvents($version));
		$this->assertSame(12, $installer->registerEvents($version), 'idempotent');
		$events = $this->events();
		$this->assertCount(12, $events);
		$by = array_column($events, null, 'code');

		// The event names OpenCart's loader fires for these calls, per version (loader.php).
		$fired = version_compare($version, '4.1.0.0', '>=') ? [
			'kervan_product_edit'         => 'admin/model/catalog/product.editProduct/after',
			'kervan_product_add'          => 'admin/model/catalog/product.addProduct/after',
			'kervan_order_add'            => 'catalog/model/checkout/order.addOrder/after',
			'kervan_order_history_before' => 'catalog/model/checkout/order.addHistory/before',
		] : [
			'kervan_product_edit'         => 'admin/model/catalog/product/editProduct/after',
			'kervan_product_add'          => 'admin/model/catalog/product/addProduct/after',
			'kervan_order_add'            => 'catalog/model/checkout/order/addOrder/after',
			'kervan_order_history_before' => 'catalog/model/checkout/order/addHistory/before',
		];
		$fired['kervan_menu'] = 'admin/view/common/column_left/before';
		$fired['kervan_stock_guard'] = 'admin/controller/catalog/product.save/before';

		foreach ($fired as $code => $name) {
			$trigger = $by[$code]['trigger'];
			$this->assertSame($name, $trigger, $code);
			// OpenCart's Event::trigger(): prefix regex over the trigger, app segment stripped.
			$stripped = substr($trigger, strpos($trigger, '/') + 1);
			$this->assertMatchesRegularExpression('/^' . str_replace(['\*', '\?'], ['.*', '.'], preg_quote($stripped, '/')) . '/', substr($name, strpos($name, '/') + 1));
		}

		// The 4.1 loader must not match 4.0 strings and vice versa (the reason for per-version rows).
		$this->assertStringNotContainsString(version_compare($version, '4.1.0.0', '>=') ? 'product/editProduct' : 'product.editProduct', $by['kervan_product_edit']['trigger']);

		foreach ($events as $event) {
			// Action `route.method`, split on the last '.', like system/engine/action.php (4.0.2+).
			$pos = strrpos($event['action'], '.');
			$this->assertNotFalse($pos, $event['action']);
			$route = substr($event['action'], 0, $pos);
			$method = substr($event['action'], $pos + 1);
			$app = str_starts_with($event['trigger'], 'catalog/') ? 'Catalog' : 'Admin';
			$class = 'Opencart\\' . $app . '\\Controller\\' . str_replace(['_', '/'], ['', '\\'], ucwords($route, '_/'));
			$this->assertTrue(class_exists($class), $class);
			$this->assertTrue(method_exists($class, $method), $class . '::' . $method);
			$this->assertSame('1', (string)$event['status']);
		}

		$installer->setEventStatus(false);
		$this->assertSame(['0'], array_values(array_unique(array_column($this->events(), 'status'))));
		$installer->deleteEvents();
		$this->assertSame([], $this->events());
	}

	public function testControllerInstallAndUninstall(): void {
		$this->registry->get('user')->permission['modify'][] = 'extension/other';
		$this->registry->get('user')->group_id = 1;
		$before = $this->permissions(1);
		$ext = new KervanExtension($this->registry);

		$ext->install();
		$ext->install(); // twice: no duplicate events or permissions
		$this->assertCount(12, $this->events());
		$expected = Installer::events(VERSION);
		$this->assertSame(array_column($expected, 'trigger'), array_column($this->events(), 'trigger'));
		$perm = $this->permissions(1);

		foreach (Installer::ROUTES as $route) {
			$this->assertSame(1, count(array_keys($perm['access'], $route, true)), $route);
			$this->assertSame(1, count(array_keys($perm['modify'], $route, true)), $route);
		}

		$this->assertSame(count($before['access']) + count(Installer::ROUTES), count($perm['access']), 'other permissions untouched');
		$other = (int)$this->db->query("SELECT `user_group_id` FROM `" . DB_PREFIX . "user_group` WHERE `user_group_id` <> 1 LIMIT 1")->row['user_group_id'];
		$this->assertGreaterThan(0, $other);
		$this->assertNotContains('extension/kervan/marketplace/dashboard', $this->permissions($other)['access'] ?? [], 'only the installing group');

		// Uninstall keeps the data by default.
		$channel = $this->addChannel();
		$ext->uninstall();
		$this->assertSame([], $this->events());
		$this->assertNotContains('extension/kervan/marketplace/dashboard', $this->permissions(1)['access']);
		$this->assertSame(count($before['access']), count($this->permissions(1)['access']));
		$this->assertSame(1, (int)$this->db->query("SELECT COUNT(*) AS n FROM `" . DB_PREFIX . "kervan_channel` WHERE channel_id = '" . $channel . "'")->row['n']);

		// "Also delete data" drops Kervan's tables (and only them).
		$ext->install();
		$this->registry->get('config')->set('kervan_uninstall_delete_data', 1);
		$ext->uninstall();
		$this->assertSame([], $this->tables());
		$this->assertSame(1, $this->db->query("SHOW TABLES LIKE 'oc_product'")->num_rows);
	}

	public function testInstallRefusedWithoutModifyOnExtensions(): void {
		(new KervanExtension($this->registry))->install();
		$this->assertSame([], $this->events());
	}

	public function testSettingsSaveTogglesEventsAndNeedsModify(): void {
		(new Installer($this->db, DB_PREFIX))->registerEvents(VERSION);
		$req = $this->registry->get('request');
		$req->post = ['other_kervan_status' => '0', 'kervan_uninstall_delete_data' => '1'];

		$denied = $this->registry([], []);
		$denied->get('request')->post = $req->post;
		(new KervanExtension($denied))->save();
		$this->assertArrayHasKey('error', json_decode($denied->get('response')->getOutput(), true));
		$this->assertSame(['1'], array_values(array_unique(array_column($this->events(), 'status'))));

		(new KervanExtension($this->registry))->save();
		$this->assertArrayHasKey('success', $this->json());
		$this->assertSame(['0'], array_values(array_unique(array_column($this->events(), 'status'))));
		$this->assertSame('1', $this->db->query("SELECT `value` FROM `" . DB_PREFIX . "setting` WHERE `code` = 'kervan_uninstall'")->row['value']);
		$this->db->query("DELETE FROM `" . DB_PREFIX . "setting` WHERE `code` IN ('kervan_uninstall', 'other_kervan')");
	}

	public function testSettingsPageRenders(): void {
		(new KervanExtension($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();
		$this->assertStringContainsString('name="kervan_uninstall_delete_data"', $html);
		$this->assertStringContainsString('0001 (' . substr(hash_file('sha256', KERVAN_ROOT . '/schema/migrations/0001_core.sql'), 0, 12) . ')', $html);
		preg_match_all('/(?:href|action)="([^"]*)"/', $html, $m);
		$this->assertNotEmpty($m[1]);

		foreach ($m[1] as $url) {
			$this->assertStringContainsString('user_token=tok3n', $url);
		}
	}
}

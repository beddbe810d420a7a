<?php
namespace Opencart\System\Library\Extension\Kervan;
/**
 * Install-time work that does not depend on OpenCart's admin models, so the PHPUnit tests can
 * drive it directly: schema migrations (the same bookkeeping as bridge/migrate.py), the event
 * rows for the running OpenCart version, and permissions.
 */
class Installer {
	public const EVENT_PREFIX = 'kervan_';
	public const LOCK_NAME = 'kervan_migrate';

	/** Admin routes of the extension; install grants access+modify on all of them. */
	public const ROUTES = [
		'extension/kervan/other/kervan',
		'extension/kervan/marketplace/dashboard',
		'extension/kervan/marketplace/channel',
		'extension/kervan/marketplace/listing',
		'extension/kervan/marketplace/parked',
		'extension/kervan/marketplace/mapping',
		'extension/kervan/marketplace/rule',
		'extension/kervan/marketplace/order',
		'extension/kervan/marketplace/supplier',
	];

	private object $db;
	private string $prefix;

	public function __construct(object $db, string $prefix) {
		$this->db = $db;
		$this->prefix = $prefix;
	}

	/** 4.1+ builds model triggers as `model/<path>.<method>`; 4.0.x as `model/<path>/<method>`. */
	public static function modelTrigger(string $version, string $app, string $path, string $method, string $when): string {
		if (version_compare($version, '4.1.0.0', '>=')) {
			return $app . '/model/' . $path . '.' . $method . '/' . $when;
		}

		return $app . '/model/' . $path . '/' . $method . '/' . $when;
	}

	/** Event actions use `route.method` from 4.0.2.0 on, `route|method` before. */
	public static function action(string $version, string $route, string $method): string {
		return $route . (version_compare($version, '4.0.2.0', '>=') ? '.' : '|') . $method;
	}

	/** The event rows for an OpenCart version: [code, description, trigger, action]. */
	public static function events(string $version): array {
		$m = fn (string $app, string $path, string $method, string $when): string => self::modelTrigger($version, $app, $path, $method, $when);
		$a = fn (string $route, string $method): string => self::action($version, $route, $method);
		// Controller routes with a method use the action separator too (4.0.2+: `product.save`).
		$sep = version_compare($version, '4.0.2.0', '>=') ? '.' : '|';

		$events = [
			['product_add', 'Kervan: product added', $m('admin', 'catalog/product', 'addProduct', 'after'), $a('extension/kervan/event/product', 'add')],
			['product_edit', 'Kervan: product edited', $m('admin', 'catalog/product', 'editProduct', 'after'), $a('extension/kervan/event/product', 'edit')],
			['product_copy', 'Kervan: product copied', $m('admin', 'catalog/product', 'copyProduct', 'after'), $a('extension/kervan/event/product', 'copy')],
			['product_delete', 'Kervan: product deleted', $m('admin', 'catalog/product', 'deleteProduct', 'after'), $a('extension/kervan/event/product', 'delete')],
			['variant_add', 'Kervan: variant added', $m('admin', 'catalog/product', 'addVariant', 'after'), $a('extension/kervan/event/product', 'addVariant')],
			['variant_edit', 'Kervan: variant edited', $m('admin', 'catalog/product', 'editVariant', 'after'), $a('extension/kervan/event/product', 'editVariant')],
			['stock_form', 'Kervan: remember the stock the product form was loaded with', 'admin/view/catalog/product_form/after', $a('extension/kervan/event/stock', 'form')],
			['stock_guard', 'Kervan: keep live stock when the form did not change it', 'admin/controller/catalog/product' . $sep . 'save/before', $a('extension/kervan/event/stock', 'guard')],
			['menu', 'Kervan: Marketplaces menu', 'admin/view/common/column_left/before', $a('extension/kervan/event/menu', 'menu')],
			['order_add', 'Kervan: order created', $m('catalog', 'checkout/order', 'addOrder', 'after'), $a('extension/kervan/event/order', 'created')],
			['order_history_before', 'Kervan: remember the old order status', $m('catalog', 'checkout/order', 'addHistory', 'before'), $a('extension/kervan/event/order', 'historyBefore')],
			['order_history_after', 'Kervan: order status changed', $m('catalog', 'checkout/order', 'addHistory', 'after'), $a('extension/kervan/event/order', 'historyAfter')],
		];

		return array_map(fn (array $e): array => [
			'code'        => self::EVENT_PREFIX . $e[0],
			'description' => $e[1],
			'trigger'     => $e[2],
			'action'      => $e[3],
			'status'      => 1,
			'sort_order'  => 0,
		], $events);
	}

	/** Replace Kervan's event rows with the ones for this version (idempotent). */
	public function registerEvents(string $version, bool $status = true): int {
		$this->deleteEvents();
		$n = 0;

		foreach (self::events($version) as $event) {
			$this->db->query("INSERT INTO `" . $this->prefix . "event` SET `code` = '" . $this->db->escape($event['code']) . "', `description` = '" . $this->db->escape($event['description']) . "', `trigger` = '" . $this->db->escape($event['trigger']) . "', `action` = '" . $this->db->escape($event['action']) . "', `status` = '" . ($status ? 1 : 0) . "', `sort_order` = '" . (int)$event['sort_order'] . "'");
			$n++;
		}

		return $n;
	}

	public function setEventStatus(bool $status): void {
		$this->db->query("UPDATE `" . $this->prefix . "event` SET `status` = '" . ($status ? 1 : 0) . "' WHERE LEFT(`code`, " . strlen(self::EVENT_PREFIX) . ") = '" . self::EVENT_PREFIX . "'");
	}

	public function deleteEvents(): void {
		$this->db->query("DELETE FROM `" . $this->prefix . "event` WHERE LEFT(`code`, " . strlen(self::EVENT_PREFIX) . ") = '" . self::EVENT_PREFIX . "'");
	}

	/** Grant (or revoke) access and modify on every Kervan route for a user group, without duplicates. */
	public function setPermissions(int $user_group_id, bool $grant = true): void {
		$query = $this->db->query("SELECT `permission` FROM `" . $this->prefix . "user_group` WHERE `user_group_id` = '" . (int)$user_group_id . "'");

		if (!$query->num_rows) {
			return;
		}

		$permission = json_decode((string)$query->row['permission'], true);

		if (!is_array($permission)) {
			$permission = [];
		}

		foreach (['access', 'modify'] as $type) {
			$list = isset($permission[$type]) && is_array($permission[$type]) ? $permission[$type] : [];
			$list = array_values(array_filter($list, fn ($r) => !in_array($r, self::ROUTES, true)));

			if ($grant) {
				$list = array_merge($list, self::ROUTES);
			}

			$permission[$type] = $list;
		}

		$this->db->query("UPDATE `" . $this->prefix . "user_group` SET `permission` = '" . $this->db->escape(json_encode($permission)) . "' WHERE `user_group_id` = '" . (int)$user_group_id . "'");
	}

	/** Revoke Kervan's routes from every group (uninstall). */
	public function revokeAll(): void {
		$query = $this->db->query("SELECT `user_group_id` FROM `" . $this->prefix . "user_group`");

		foreach ($query->rows as $row) {
			$this->setPermissions((int)$row['user_group_id'], false);
		}
	}

	/** Split like bridge/migrate.py split_statements(): `--` lines dropped, `;` at line end ends a statement. */
	public static function splitStatements(string $sql): array {
		$out = [];
		$current = [];

		foreach (preg_split('/\r\n|\r|\n/', $sql) as $line) {
			if (str_starts_with(ltrim($line), '--')) {
				continue;
			}

			$current[] = $line;

			if (str_ends_with(rtrim($line), ';')) {
				$stmt = trim(rtrim(trim(implode("\n", $current)), ';'));

				if ($stmt !== '') {
					$out[] = $stmt;
				}

				$current = [];
			}
		}

		$rest = trim(implode("\n", $current));

		if ($rest !== '') {
			$out[] = $rest;
		}

		return $out;
	}

	/** NNNN_name.sql files in order: [version, name, path]. */
	public static function available(string $dir): array {
		$found = [];

		foreach (glob(rtrim($dir, '/') . '/*.sql') ?: [] as $path) {
			if (!preg_match('/^(\d{4})_([a-z0-9_]+)\.sql$/', basename($path), $m)) {
				throw new \RuntimeException('migration file ' . basename($path) . ' is not named NNNN_name.sql');
			}

			$found[] = ['version' => $m[1], 'name' => $m[2], 'path' => $path];
		}

		usort($found, fn ($x, $y) => strcmp(basename($x['path']), basename($y['path'])));

		return $found;
	}

	/**
	 * Apply the missing migrations, under the same GET_LOCK name as `kervan migrate`
	 * (`<database>.kervan_migrate`), recording each in `{prefix}kervan_migration` with the sha256
	 * of the file text. Returns the versions applied.
	 */
	public function migrate(string $dir, string $database): array {
		$lock = $database . '.' . self::LOCK_NAME;
		$got = $this->db->query("SELECT GET_LOCK('" . $this->db->escape($lock) . "', 120) AS `got`");

		if (empty($got->row['got'])) {
			throw new \RuntimeException('another kervan migrate held the lock for 120s');
		}

		try {
			$done = $this->applied();
			$newly = [];

			foreach (self::available($dir) as $mig) {
				// Python reads the file in text mode (universal newlines), so hash the \n form.
				$text = str_replace(["\r\n", "\r"], "\n", (string)file_get_contents($mig['path']));

				if (isset($done[$mig['version']])) {
					continue;
				}

				foreach (self::splitStatements(str_replace('{prefix}', $this->prefix, $text)) as $stmt) {
					$this->db->query($stmt);
				}

				$this->db->query("INSERT INTO `" . $this->prefix . "kervan_migration` SET `version` = '" . $this->db->escape($mig['version']) . "', `name` = '" . $this->db->escape($mig['name']) . "', `checksum` = '" . hash('sha256', $text) . "'");
				$newly[] = $mig['version'];
			}

			return $newly;
		} finally {
			$this->db->query("SELECT RELEASE_LOCK('" . $this->db->escape($lock) . "')");
		}
	}

	/** version => checksum of what is applied ([] when the bookkeeping table does not exist yet). */
	public function applied(): array {
		$exists = $this->db->query("SELECT COUNT(*) AS `n` FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '" . $this->db->escape($this->prefix . 'kervan_migration') . "'");

		if (empty($exists->row['n'])) {
			return [];
		}

		$out = [];

		foreach ($this->db->query("SELECT `version`, `checksum` FROM `" . $this->prefix . "kervan_migration`")->rows as $row) {
			$out[$row['version']] = $row['checksum'];
		}

		return $out;
	}

	/** Kervan's own tables (the "also delete data" uninstall). */
	public function dropTables(): array {
		$query = $this->db->query("SELECT table_name AS `t` FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE '" . $this->db->escape(str_replace('_', '\\_', $this->prefix) . 'kervan\\_%') . "'");
		$dropped = [];

		foreach ($query->rows as $row) {
			$this->db->query("DROP TABLE IF EXISTS `" . str_replace('`', '', $row['t']) . "`");
			$dropped[] = $row['t'];
		}

		return $dropped;
	}
}

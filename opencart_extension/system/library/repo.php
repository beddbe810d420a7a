<?php
namespace Opencart\System\Library\Extension\Kervan;
/**
 * Reads and writes of Kervan's tables for the admin pages. Every list is paginated in SQL (LIMIT),
 * every value goes through casts or $db->escape(). Credentials are write-only here: nothing in
 * this class returns them.
 */
class Repo {
	public const CHANNEL_CODES = ['trendyol', 'hepsiburada', 'n11', 'amazon'];
	public const LISTING_STATUSES = ['new', 'submitted', 'synced', 'failed', 'reconcile', 'deleted'];
	public const MAPPING_KINDS = ['category', 'brand', 'attribute'];
	public const ALIVE_SECONDS = 30;

	/** Fields each marketplace needs: [settings/credentials, name]. Credentials are never read back. */
	public const CHANNEL_FIELDS = [
		'trendyol'    => ['base_url' => 'https://apigw.trendyol.com/integration', 'credentials' => ['api_key', 'api_secret', 'integrator']],
		'hepsiburada' => ['base_url' => 'https://listing-external.hepsiburada.com', 'credentials' => ['username', 'password']],
		'n11'         => ['base_url' => 'https://api.n11.com', 'credentials' => ['app_key', 'app_secret']],
		'amazon'      => ['base_url' => 'https://sellingpartnerapi-eu.amazon.com', 'credentials' => ['client_id', 'client_secret', 'refresh_token', 'marketplace_id']],
	];

	/** Keys of kervan_channel.settings the Rules page owns (stock_buffer is read by the catalog worker). */
	public const RULE_KEYS = ['price_markup_percent', 'price_fixed_amount', 'price_rounding', 'price_minimum', 'stock_buffer', 'stock_maximum'];

	private object $db;
	private string $p;

	public function __construct(object $db, string $prefix) {
		$this->db = $db;
		$this->p = $prefix;
	}

	private function e(string $value): string {
		return $this->db->escape($value);
	}

	private static function limit(int $start, int $limit): string {
		return " LIMIT " . max(0, $start) . "," . max(1, min(500, $limit));
	}

	// --- channels ------------------------------------------------------------------------------
	private const CHANNEL_COLUMNS = "`channel_id`, `code`, `account`, `name`, `base_url`, `seller_id`, `settings`, `status`, `paused`, (`credentials` IS NOT NULL AND `credentials` <> '' AND `credentials` <> '{}') AS `has_credentials`, `created_at`, `updated_at`";

	public function countChannels(): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n` FROM `" . $this->p . "kervan_channel`")->row['n'];
	}

	public function getChannels(int $start = 0, int $limit = 50): array {
		return $this->db->query("SELECT " . self::CHANNEL_COLUMNS . " FROM `" . $this->p . "kervan_channel` ORDER BY `code`, `account`" . self::limit($start, $limit))->rows;
	}

	public function getChannel(int $channel_id): array {
		$row = $this->db->query("SELECT " . self::CHANNEL_COLUMNS . " FROM `" . $this->p . "kervan_channel` WHERE `channel_id` = '" . $channel_id . "'")->row;

		return $row ?: [];
	}

	/** Channel id => "name (code/account)" for filters and selects (channels are few). */
	public function channelOptions(): array {
		$out = [];

		foreach ($this->db->query("SELECT `channel_id`, `code`, `account`, `name` FROM `" . $this->p . "kervan_channel` ORDER BY `code`, `account` LIMIT 200")->rows as $row) {
			$out[] = ['channel_id' => (int)$row['channel_id'], 'code' => $row['code'], 'name' => $row['name'] . ' (' . $row['code'] . '/' . $row['account'] . ')'];
		}

		return $out;
	}

	/**
	 * Insert or update a channel. $credentials: only non-empty values replace stored ones (an
	 * empty field means "keep"), so the form never needs the stored secret.
	 */
	public function saveChannel(int $channel_id, array $data, array $credentials): int {
		$existing = [];

		if ($channel_id) {
			$row = $this->db->query("SELECT `credentials` FROM `" . $this->p . "kervan_channel` WHERE `channel_id` = '" . $channel_id . "'")->row;
			$existing = $row && $row['credentials'] ? (json_decode($row['credentials'], true) ?: []) : [];
		}

		foreach ($credentials as $key => $value) {
			if ((string)$value !== '') {
				$existing[(string)$key] = (string)$value;
			}
		}

		$sql = "`code` = '" . $this->e($data['code']) . "', `account` = '" . $this->e($data['account']) . "', `name` = '" . $this->e($data['name']) . "', `base_url` = '" . $this->e($data['base_url']) . "', `seller_id` = '" . $this->e($data['seller_id']) . "', `credentials` = '" . $this->e(json_encode((object)$existing, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)) . "', `status` = '" . (int)!empty($data['status']) . "'";

		if ($channel_id) {
			$this->db->query("UPDATE `" . $this->p . "kervan_channel` SET " . $sql . " WHERE `channel_id` = '" . $channel_id . "'");

			return $channel_id;
		}

		$this->db->query("INSERT INTO `" . $this->p . "kervan_channel` SET " . $sql . ", `settings` = '{}'");

		return (int)$this->db->getLastId();
	}

	public function channelExists(string $code, string $account, int $except_id): bool {
		return (bool)$this->db->query("SELECT 1 FROM `" . $this->p . "kervan_channel` WHERE `code` = '" . $this->e($code) . "' AND `account` = '" . $this->e($account) . "' AND `channel_id` <> '" . $except_id . "'")->num_rows;
	}

	public function setChannelFlag(int $channel_id, string $flag, bool $value): void {
		if (!in_array($flag, ['status', 'paused'], true)) {
			return;
		}

		$this->db->query("UPDATE `" . $this->p . "kervan_channel` SET `" . $flag . "` = '" . (int)$value . "' WHERE `channel_id` = '" . $channel_id . "'");
	}

	public function getSettings(int $channel_id): array {
		$row = $this->db->query("SELECT `settings` FROM `" . $this->p . "kervan_channel` WHERE `channel_id` = '" . $channel_id . "'")->row;
		$settings = $row ? json_decode((string)$row['settings'], true) : [];

		return is_array($settings) ? $settings : [];
	}

	/** Merge keys into settings JSON, keeping every key this page does not own. */
	public function mergeSettings(int $channel_id, array $values): void {
		$settings = $this->getSettings($channel_id);

		foreach ($values as $key => $value) {
			if ($value === null) {
				unset($settings[$key]);
			} else {
				$settings[$key] = $value;
			}
		}

		$this->db->query("UPDATE `" . $this->p . "kervan_channel` SET `settings` = '" . $this->e(json_encode((object)$settings, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)) . "' WHERE `channel_id` = '" . $channel_id . "'");
	}

	// --- listings ------------------------------------------------------------------------------
	private function listingWhere(array $f): string {
		$where = ["1"];

		if (!empty($f['channel_id'])) {
			$where[] = "l.`channel_id` = '" . (int)$f['channel_id'] . "'";
		}

		if (!empty($f['status']) && in_array($f['status'], self::LISTING_STATUSES, true)) {
			$where[] = "l.`status` = '" . $this->e($f['status']) . "'";
		}

		if (!empty($f['category_id'])) {
			$where[] = "l.`product_id` IN (SELECT `product_id` FROM `" . $this->p . "product_to_category` WHERE `category_id` = '" . (int)$f['category_id'] . "')";
		}

		if (isset($f['search']) && $f['search'] !== '') {
			$s = $this->e(addcslashes((string)$f['search'], '%_\\'));
			$where[] = "(pd.`name` LIKE '%" . $s . "%' OR p.`model` LIKE '%" . $s . "%' OR l.`remote_sku` LIKE '%" . $s . "%' OR l.`product_id` = '" . (int)$f['search'] . "')";
		}

		return " WHERE " . implode(" AND ", $where);
	}

	private function listingFrom(array $f): string {
		return " FROM `" . $this->p . "kervan_listing` l LEFT JOIN `" . $this->p . "product` p ON (p.`product_id` = l.`product_id`) LEFT JOIN `" . $this->p . "product_description` pd ON (pd.`product_id` = l.`product_id` AND pd.`language_id` = '" . (int)($f['language_id'] ?? 1) . "') LEFT JOIN `" . $this->p . "kervan_channel` c ON (c.`channel_id` = l.`channel_id`)";
	}

	public function countListings(array $f): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n`" . $this->listingFrom($f) . $this->listingWhere($f))->row['n'];
	}

	public function getListings(array $f, int $start, int $limit): array {
		return $this->db->query("SELECT l.`listing_id`, l.`channel_id`, l.`product_id`, l.`remote_sku`, l.`remote_id`, l.`status`, l.`last_error`, l.`attempts`, l.`synced_at`, l.`updated_at`, pd.`name`, p.`model`, c.`code` AS `channel_code`, c.`name` AS `channel_name`" . $this->listingFrom($f) . $this->listingWhere($f) . " ORDER BY l.`listing_id` DESC" . self::limit($start, $limit))->rows;
	}

	/** Product ids of a category (for "list all products of category X on channel Y"). */
	public function categoryProductIds(int $category_id, int $max = 5000): array {
		$rows = $this->db->query("SELECT `product_id` FROM `" . $this->p . "product_to_category` WHERE `category_id` = '" . $category_id . "' ORDER BY `product_id` LIMIT " . (int)$max)->rows;

		return array_map(fn ($r) => (int)$r['product_id'], $rows);
	}

	/** Create 'new' listing rows for products not yet bound to the channel. */
	public function ensureListings(int $channel_id, array $product_ids): int {
		$ids = array_values(array_unique(array_filter(array_map('intval', $product_ids))));

		if (!$ids) {
			return 0;
		}

		$values = implode(',', array_map(fn ($id) => "('" . $channel_id . "','" . $id . "')", $ids));
		$this->db->query("INSERT IGNORE INTO `" . $this->p . "kervan_listing` (`channel_id`, `product_id`) VALUES " . $values);

		return count($ids);
	}

	public function categories(int $language_id, int $limit = 500): array {
		return $this->db->query("SELECT cd.`category_id`, cd.`name` FROM `" . $this->p . "category_description` cd WHERE cd.`language_id` = '" . $language_id . "' ORDER BY cd.`name` LIMIT " . (int)$limit)->rows;
	}

	// --- parked --------------------------------------------------------------------------------
	public function countParked(string $status = 'open'): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n` FROM `" . $this->p . "kervan_parked`" . ($status !== '' ? " WHERE `status` = '" . $this->e($status) . "'" : ""))->row['n'];
	}

	public function getParked(string $status, int $start, int $limit): array {
		return $this->db->query("SELECT `parked_id`, `message_id`, `queue`, `routing_key`, `event_type`, `reason`, `attempts`, `status`, `first_failed_at`, `last_failed_at`, `resolved_at`, LEFT(`body`, 300) AS `body_head` FROM `" . $this->p . "kervan_parked`" . ($status !== '' ? " WHERE `status` = '" . $this->e($status) . "'" : "") . " ORDER BY `parked_id` DESC" . self::limit($start, $limit))->rows;
	}

	/** Open parked ids among $ids (replay/discard act only on open ones). */
	public function openParked(array $ids): array {
		$ids = array_values(array_unique(array_filter(array_map('intval', $ids))));

		if (!$ids) {
			return [];
		}

		return array_map(fn ($r) => (int)$r['parked_id'], $this->db->query("SELECT `parked_id` FROM `" . $this->p . "kervan_parked` WHERE `status` = 'open' AND `parked_id` IN (" . implode(',', $ids) . ")")->rows);
	}

	public function discardParked(array $ids): int {
		$ids = $this->openParked($ids);

		if ($ids) {
			$this->db->query("UPDATE `" . $this->p . "kervan_parked` SET `status` = 'discarded', `resolved_at` = CURRENT_TIMESTAMP(6) WHERE `status` = 'open' AND `parked_id` IN (" . implode(',', $ids) . ")");
		}

		return count($ids);
	}

	// --- mappings ------------------------------------------------------------------------------
	public function countMappings(int $channel_id, string $kind): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n` FROM `" . $this->p . "kervan_mapping` WHERE `channel_id` = '" . $channel_id . "' AND `kind` = '" . $this->e($kind) . "'")->row['n'];
	}

	public function getMappings(int $channel_id, string $kind, int $language_id, int $start, int $limit): array {
		$join = match ($kind) {
			'category'  => " LEFT JOIN `" . $this->p . "category_description` d ON (d.`category_id` = m.`local_id` AND d.`language_id` = '" . $language_id . "')",
			'brand'     => " LEFT JOIN `" . $this->p . "manufacturer` d ON (d.`manufacturer_id` = m.`local_id`)",
			'attribute' => " LEFT JOIN `" . $this->p . "attribute_description` d ON (d.`attribute_id` = m.`local_id` AND d.`language_id` = '" . $language_id . "')",
			default     => '',
		};
		$name = $join ? "d.`name`" : "''";
		// A category mapping shows the marketplace's path, or NULL when the downloaded list lacks it.
		$remote = $kind === 'category' ? "rc.`path`" : "NULL";

		if ($kind === 'category') {
			$join .= " LEFT JOIN `" . $this->p . "kervan_category` rc ON (rc.`channel_id` = m.`channel_id` AND rc.`remote_id` = m.`remote_id`)";
		}

		return $this->db->query("SELECT m.`mapping_id`, m.`local_id`, m.`remote_id`, m.`extra`, m.`updated_at`, " . $name . " AS `local_name`, " . $remote . " AS `remote_path` FROM `" . $this->p . "kervan_mapping` m" . $join . " WHERE m.`channel_id` = '" . $channel_id . "' AND m.`kind` = '" . $this->e($kind) . "' ORDER BY m.`mapping_id`" . self::limit($start, $limit))->rows;
	}

	public function saveMapping(int $channel_id, string $kind, string $local_id, string $remote_id, array $extra): void {
		$this->db->query("INSERT INTO `" . $this->p . "kervan_mapping` SET `channel_id` = '" . $channel_id . "', `kind` = '" . $this->e($kind) . "', `local_id` = '" . $this->e($local_id) . "', `remote_id` = '" . $this->e($remote_id) . "', `extra` = '" . $this->e(json_encode((object)$extra, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)) . "' ON DUPLICATE KEY UPDATE `remote_id` = VALUES(`remote_id`), `extra` = VALUES(`extra`)");
	}

	public function deleteMappings(int $channel_id, array $ids): void {
		$ids = array_values(array_filter(array_map('intval', $ids)));

		if ($ids) {
			$this->db->query("DELETE FROM `" . $this->p . "kervan_mapping` WHERE `channel_id` = '" . $channel_id . "' AND `mapping_id` IN (" . implode(',', $ids) . ")");
		}
	}

	/** Local choices for a mapping kind (OpenCart categories, manufacturers, attributes). */
	public function localChoices(string $kind, int $language_id): array {
		return match ($kind) {
			'category'  => $this->db->query("SELECT `category_id` AS `id`, `name` FROM `" . $this->p . "category_description` WHERE `language_id` = '" . $language_id . "' ORDER BY `name` LIMIT 1000")->rows,
			'brand'     => $this->db->query("SELECT `manufacturer_id` AS `id`, `name` FROM `" . $this->p . "manufacturer` ORDER BY `name` LIMIT 1000")->rows,
			'attribute' => $this->db->query("SELECT `attribute_id` AS `id`, `name` FROM `" . $this->p . "attribute_description` WHERE `language_id` = '" . $language_id . "' ORDER BY `name` LIMIT 1000")->rows,
			default     => [],
		};
	}

	// --- marketplace categories (downloaded by `kervan categories`, see workers/categories.py) ------
	/** Leaf categories of a channel (only leaves take products), for the mapping page's picker. */
	public function countRemoteCategories(int $channel_id): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n` FROM `" . $this->p . "kervan_category` WHERE `channel_id` = '" . $channel_id . "' AND `leaf` = '1'")->row['n'];
	}

	/**
	 * Leaf categories whose path contains every word of $search, or whose id is $search; ordered by
	 * path, at most $limit. The collation ignores case and most accents (s = ş, g = ğ) but not the
	 * dotted/dotless i, so any i, ı, I or İ matches one character: "kadin elbise" finds
	 * "Giyim > Kadın > Elbise".
	 */
	public function remoteCategories(int $channel_id, string $search = '', int $limit = 50): array {
		$where = "`channel_id` = '" . $channel_id . "' AND `leaf` = '1'";
		$search = trim($search);

		if ($search !== '') {
			$words = [];

			foreach (preg_split('/\s+/u', $search) ?: [] as $word) {
				if ($word !== '' && $word !== '>') {
					$like = str_replace(['i', 'ı', 'I', 'İ'], '_', addcslashes($word, '%_\\'));
					$words[] = "`path` LIKE '%" . $this->e($like) . "%'";
				}
			}

			$where .= " AND (`remote_id` = '" . $this->e($search) . "'" . ($words ? " OR (" . implode(" AND ", $words) . ")" : "") . ")";
		}

		return $this->db->query("SELECT `remote_id`, `name`, `path` FROM `" . $this->p . "kervan_category` WHERE " . $where . " ORDER BY `path`, `remote_id` LIMIT " . max(1, min(1000, $limit)))->rows;
	}

	/** One downloaded category ([] when the channel's list does not have it). */
	public function remoteCategory(int $channel_id, string $remote_id): array {
		$row = $this->db->query("SELECT `remote_id`, `name`, `path`, `leaf`, `fetched_at` FROM `" . $this->p . "kervan_category` WHERE `channel_id` = '" . $channel_id . "' AND `remote_id` = '" . $this->e($remote_id) . "'")->row;

		return $row ?: [];
	}

	/**
	 * Downloaded attributes of categories, in the marketplace's order: remote category id =>
	 * [[attribute_id, name, required, allow_custom, values (names, at most $max_values), value_count]].
	 */
	public function categoryAttributes(int $channel_id, array $category_remote_ids, bool $required_only = false, int $max_values = 20): array {
		$ids = array_values(array_unique(array_filter(array_map('strval', $category_remote_ids), fn ($id) => $id !== '')));

		if (!$ids) {
			return [];
		}

		$in = implode(',', array_map(fn ($id) => "'" . $this->e($id) . "'", array_slice($ids, 0, 500)));
		$rows = $this->db->query("SELECT `category_remote_id`, `attribute_id`, `name`, `required`, `allow_custom`, `values_json` FROM `" . $this->p . "kervan_category_attribute` WHERE `channel_id` = '" . $channel_id . "' AND `category_remote_id` IN (" . $in . ")" . ($required_only ? " AND `required` = '1'" : "") . " ORDER BY `category_remote_id`, `sort_order`, `attribute_id` LIMIT 5000")->rows;
		$out = [];

		foreach ($rows as $row) {
			$values = json_decode((string)$row['values_json'], true);
			$values = is_array($values) ? $values : [];
			$names = [];

			foreach (array_slice($values, 0, max(0, $max_values)) as $value) {
				$names[] = is_array($value) ? (string)($value['name'] ?? '') : (string)$value;
			}

			$out[$row['category_remote_id']][] = [
				'attribute_id' => $row['attribute_id'],
				'name'         => $row['name'],
				'required'     => (bool)$row['required'],
				'allow_custom' => (bool)$row['allow_custom'],
				'values'       => $names,
				'value_count'  => count($values),
			];
		}

		return $out;
	}

	// --- orders --------------------------------------------------------------------------------
	public function countOrderLinks(int $channel_id): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n` FROM `" . $this->p . "kervan_order_link`" . ($channel_id ? " WHERE `channel_id` = '" . $channel_id . "'" : ""))->row['n'];
	}

	public function getOrderLinks(int $channel_id, int $language_id, int $start, int $limit): array {
		return $this->db->query("SELECT ol.`order_link_id`, ol.`channel_id`, ol.`remote_order_id`, ol.`order_id`, ol.`remote_status`, ol.`flags`, ol.`tracking_number`, ol.`shipped_at`, ol.`created_at`, c.`name` AS `channel_name`, c.`code` AS `channel_code`, o.`total`, o.`currency_code`, o.`firstname`, o.`lastname`, os.`name` AS `order_status` FROM `" . $this->p . "kervan_order_link` ol LEFT JOIN `" . $this->p . "kervan_channel` c ON (c.`channel_id` = ol.`channel_id`) LEFT JOIN `" . $this->p . "order` o ON (o.`order_id` = ol.`order_id`) LEFT JOIN `" . $this->p . "order_status` os ON (os.`order_status_id` = o.`order_status_id` AND os.`language_id` = '" . $language_id . "')" . ($channel_id ? " WHERE ol.`channel_id` = '" . $channel_id . "'" : "") . " ORDER BY ol.`order_link_id` DESC" . self::limit($start, $limit))->rows;
	}

	// --- supplier orders (kervan_supplier_order, written by the dropship worker) ------------------
	public const SUPPLIER_ORDER_STATES = ['reserved', 'sent', 'on_hold', 'failed', 'shipped'];
	/** States the merchant can send again (the worker's Forwarder.retry acts on these only). */
	public const SUPPLIER_ORDER_RETRYABLE = ['on_hold', 'failed'];

	public function countSupplierOrders(int $supplier_id = 0): int {
		return (int)$this->db->query("SELECT COUNT(*) AS `n` FROM `" . $this->p . "kervan_supplier_order`" . ($supplier_id ? " WHERE `supplier_id` = '" . $supplier_id . "'" : ""))->row['n'];
	}

	/** Forwards to suppliers, newest first, with the supplier's name (`lines` is left out: it can be large). */
	public function getSupplierOrders(int $supplier_id, int $start, int $limit): array {
		return $this->db->query("SELECT so.`supplier_order_id`, so.`order_id`, so.`supplier_id`, so.`state`, so.`remote_id`, so.`carrier`, so.`tracking_number`, so.`tracking_url`, so.`attempts`, so.`last_error`, so.`sent_at`, so.`shipped_at`, so.`date_added`, so.`date_modified`, s.`name` AS `supplier_name`, s.`code` AS `supplier_code` FROM `" . $this->p . "kervan_supplier_order` so LEFT JOIN `" . $this->p . "kervan_supplier` s ON (s.`supplier_id` = so.`supplier_id`)" . ($supplier_id ? " WHERE so.`supplier_id` = '" . $supplier_id . "'" : "") . " ORDER BY so.`supplier_order_id` DESC" . self::limit($start, $limit))->rows;
	}

	/** One forward ([] when there is none for this order and supplier). */
	public function getSupplierOrder(int $order_id, int $supplier_id): array {
		$row = $this->db->query("SELECT `supplier_order_id`, `order_id`, `supplier_id`, `state`, `remote_id`, `attempts`, `last_error` FROM `" . $this->p . "kervan_supplier_order` WHERE `order_id` = '" . $order_id . "' AND `supplier_id` = '" . $supplier_id . "'")->row;

		return $row ?: [];
	}

	// --- dashboard -----------------------------------------------------------------------------
	public function heartbeats(int $limit = 100): array {
		return $this->db->query("SELECT `process_id`, `role`, `channel`, `host`, `pid`, `state`, `counters`, `started_at`, `last_seen`, TIMESTAMPDIFF(SECOND, `last_seen`, CURRENT_TIMESTAMP(6)) AS `age`, (`last_seen` >= CURRENT_TIMESTAMP(6) - INTERVAL " . self::ALIVE_SECONDS . " SECOND AND `state` <> 'stopped') AS `alive` FROM `" . $this->p . "kervan_heartbeat` ORDER BY `role`, `channel`, `process_id` LIMIT " . (int)$limit)->rows;
	}

	/** channel_id => [listed, pending, error, total] (aggregated in SQL). */
	public function listingCounts(): array {
		$out = [];

		foreach ($this->db->query("SELECT `channel_id`, SUM(`status` = 'synced') AS `listed`, SUM(`status` IN ('new', 'submitted', 'reconcile')) AS `pending`, SUM(`status` = 'failed') AS `error`, COUNT(*) AS `total` FROM `" . $this->p . "kervan_listing` GROUP BY `channel_id`")->rows as $row) {
			$out[(int)$row['channel_id']] = ['listed' => (int)$row['listed'], 'pending' => (int)$row['pending'], 'error' => (int)$row['error'], 'total' => (int)$row['total']];
		}

		return $out;
	}

	/** Syncs per hour over the last 24 hours: 24 buckets, oldest first, [hour => 'YYYY-mm-dd HH', count]. */
	public function syncsPerHour(): array {
		$rows = $this->db->query("SELECT DATE_FORMAT(`synced_at`, '%Y-%m-%d %H') AS `h`, COUNT(*) AS `n` FROM `" . $this->p . "kervan_listing` WHERE `synced_at` >= CURRENT_TIMESTAMP(6) - INTERVAL 24 HOUR GROUP BY `h`")->rows;
		$by = [];

		foreach ($rows as $row) {
			$by[$row['h']] = (int)$row['n'];
		}

		$now = $this->db->query("SELECT DATE_FORMAT(CURRENT_TIMESTAMP(6), '%Y-%m-%d %H:00:00') AS `now`")->row['now'];
		$end = strtotime($now . ' UTC');
		$out = [];

		for ($i = 23; $i >= 0; $i--) {
			$h = gmdate('Y-m-d H', $end - $i * 3600);
			$out[] = ['hour' => $h, 'count' => $by[$h] ?? 0];
		}

		return $out;
	}

	public function recentErrors(int $limit = 10): array {
		return $this->db->query("SELECT l.`product_id`, l.`channel_id`, c.`name` AS `channel_name`, l.`last_error`, l.`updated_at` FROM `" . $this->p . "kervan_listing` l LEFT JOIN `" . $this->p . "kervan_channel` c ON (c.`channel_id` = l.`channel_id`) WHERE l.`status` = 'failed' AND l.`last_error` IS NOT NULL ORDER BY l.`updated_at` DESC LIMIT " . (int)$limit)->rows;
	}

	public function outboxLag(): array {
		$row = $this->db->query("SELECT COUNT(*) AS `waiting`, TIMESTAMPDIFF(SECOND, MIN(`created_at`), CURRENT_TIMESTAMP(6)) AS `age` FROM `" . $this->p . "kervan_outbox` WHERE `published_at` IS NULL")->row;

		return ['waiting' => (int)$row['waiting'], 'oldest_seconds' => (int)$row['age']];
	}

	/** The latest full reconciliation of each channel (kervan_reconcile_report), newest first. */
	public function lastReconciliations(): array {
		return $this->db->query("SELECT r.*, c.`name` AS `channel_name`, c.`code` FROM `" . $this->p . "kervan_reconcile_report` r JOIN `" . $this->p . "kervan_channel` c ON c.`channel_id` = r.`channel_id` WHERE r.`report_id` IN (SELECT MAX(`report_id`) FROM `" . $this->p . "kervan_reconcile_report` GROUP BY `channel_id`) ORDER BY r.`started_at` DESC LIMIT 50")->rows;
	}
}

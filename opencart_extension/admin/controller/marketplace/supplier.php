<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Outbox;
use Opencart\System\Library\Extension\Kervan\Repo;
/**
 * Suppliers (`kervan_supplier`): the feed (URL, format, preset, login, field mapping as JSON), the
 * rules (JSON: categories, price, stock, new/missing products), the import interval and the on/off
 * switch; the last feed runs with their outcome, counts and, when a feed was quarantined or failed,
 * the reason in plain words; "import now" queues `cmd.import_feed` for the feeds worker. Below, the
 * orders forwarded to suppliers (`kervan_supplier_order`) with their state, tracking and last error
 * in words; "send again" on an on-hold or failed one queues `cmd.dropship` (action retry).
 *
 * The feed login (password, token) is write-only: an empty field keeps what is stored, and it is
 * never sent back to the browser. The feeds worker checks the mapping and rules in full; this page
 * checks what it can (JSON objects, known formats and policies) so a typo is refused on save.
 */
class Supplier extends \Opencart\System\Library\Extension\Kervan\Page {
	public const FORMATS = ['xml', 'gmc', 'csv', 'json'];
	public const PRESETS = ['', 'ticimax', 'ideasoft', 'tsoft', 'urun', 'gmc', 'shopify', 'woocommerce'];
	public const AUTH_KINDS = ['none', 'basic', 'header', 'query'];
	public const NEW_POLICIES = ['create_disabled', 'create_enabled', 'ignore'];
	public const MISSING_POLICIES = ['zero_stock', 'disable', 'ignore'];
	public const OUTCOMES = ['running', 'applied', 'quarantined', 'failed'];
	/** Keys of the feed JSON this form edits itself; the mapping box holds every other key. */
	public const FEED_KEYS = ['url', 'format', 'preset', 'auth'];
	public const MAX = 100;
	public const RUNS = 20;
	public const PROBLEMS_SHOWN = 5;

	protected function page(): string {
		return 'supplier';
	}

	private function table(string $name): string {
		return '`' . DB_PREFIX . $name . '`';
	}

	private function supplierRow(int $supplier_id): array {
		return $supplier_id ? ($this->db->query("SELECT * FROM " . $this->table('kervan_supplier') . " WHERE `supplier_id` = '" . $supplier_id . "'")->row ?: []) : [];
	}

	private static function object(?string $json): array {
		$value = json_decode((string)$json, true);

		return is_array($value) ? $value : [];
	}

	private static function pretty(array $value): string {
		return $value ? json_encode($value, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) : '';
	}

	public function index(): void {
		$this->boot();

		$data['suppliers'] = [];
		$last = [];

		foreach ($this->db->query("SELECT r.`supplier_id`, r.`outcome`, r.`finished_at` FROM " . $this->table('kervan_feed_run') . " r JOIN (SELECT MAX(`run_id`) AS `run_id` FROM " . $this->table('kervan_feed_run') . " GROUP BY `supplier_id`) m ON m.`run_id` = r.`run_id`")->rows as $row) {
			$last[(int)$row['supplier_id']] = $row;
		}

		foreach ($this->db->query("SELECT `supplier_id`, `code`, `name`, `enabled`, `feed`, `import_interval`, `last_good_count` FROM " . $this->table('kervan_supplier') . " ORDER BY `code` LIMIT " . self::MAX)->rows as $row) {
			$feed = self::object($row['feed']);
			$run = $last[(int)$row['supplier_id']] ?? null;
			$data['suppliers'][] = [
				'supplier_id'     => (int)$row['supplier_id'],
				'code'            => $row['code'],
				'name'            => $row['name'],
				'enabled'         => (bool)$row['enabled'],
				'format'          => (string)($feed['preset'] ?? '') !== '' ? $feed['preset'] : (string)($feed['format'] ?? ''),
				'interval'        => (int)round((int)$row['import_interval'] / 60),
				'last_good_count' => $row['last_good_count'],
				'last_outcome'    => $run ? $this->language->get('text_outcome_' . (in_array($run['outcome'], self::OUTCOMES, true) ? $run['outcome'] : 'failed')) : '',
				'last_at'         => $run['finished_at'] ?? '',
				'edit'            => $this->link('', ['supplier_id' => (int)$row['supplier_id']]),
			];
		}

		$supplier_id = (int)($this->request->get['supplier_id'] ?? 0);
		$row = $this->supplierRow($supplier_id);
		$feed = self::object($row['feed'] ?? null);
		$auth = is_array($feed['auth'] ?? null) ? $feed['auth'] : [];
		$mapping = array_diff_key($feed, array_flip(self::FEED_KEYS));
		$rules = self::object($row['rules'] ?? null);

		$data['form'] = [
			'supplier_id'      => $row ? (int)$row['supplier_id'] : 0,
			'code'             => $row['code'] ?? '',
			'name'             => $row['name'] ?? '',
			'enabled'          => $row ? (bool)$row['enabled'] : true,
			'url'              => (string)($feed['url'] ?? ''),
			'format'           => (string)($feed['format'] ?? 'xml'),
			'preset'           => (string)($feed['preset'] ?? ''),
			'auth_kind'        => (string)($auth['kind'] ?? 'none'),
			'auth_username'    => (string)($auth['username'] ?? ''),
			'auth_header'      => (string)($auth['header'] ?? ''),
			'auth_param'       => (string)($auth['param'] ?? ''),
			'has_secret'       => ($auth['password'] ?? '') !== '' || ($auth['token'] ?? '') !== '',
			'mapping'          => self::pretty($mapping),
			'rules'            => self::pretty(array_diff_key($rules, array_flip(['new_products', 'missing_products']))),
			'new_products'     => (string)($rules['new_products'] ?? 'create_disabled'),
			'missing_products' => (string)($rules['missing_products'] ?? 'zero_stock'),
			'interval'         => $row ? (int)round((int)$row['import_interval'] / 60) : 60,
		];
		$data['formats'] = self::FORMATS;
		$data['presets'] = self::PRESETS;
		$data['auth_kinds'] = [];

		foreach (self::AUTH_KINDS as $kind) {
			$data['auth_kinds'][] = ['value' => $kind, 'text' => $this->language->get('text_auth_' . $kind)];
		}

		$data['new_policies'] = [];

		foreach (self::NEW_POLICIES as $p) {
			$data['new_policies'][] = ['value' => $p, 'text' => $this->language->get('text_new_' . $p)];
		}

		$data['missing_policies'] = [];

		foreach (self::MISSING_POLICIES as $p) {
			$data['missing_policies'][] = ['value' => $p, 'text' => $this->language->get('text_missing_' . $p)];
		}

		$data['runs'] = $this->runs($supplier_id);
		$data += $this->supplierOrders($supplier_id);
		$data['save'] = $this->link('save');
		$data['import'] = $this->link('import');
		$data['retry'] = $this->link('retry');
		$data['add'] = $this->link();

		$this->render($data);
	}

	/** The last feed runs (of one supplier, or of all), said in words. */
	private function runs(int $supplier_id): array {
		$where = $supplier_id ? " WHERE r.`supplier_id` = '" . $supplier_id . "'" : '';
		$runs = [];

		foreach ($this->db->query("SELECT r.*, s.`name` AS `supplier` FROM " . $this->table('kervan_feed_run') . " r LEFT JOIN " . $this->table('kervan_supplier') . " s ON s.`supplier_id` = r.`supplier_id`" . $where . " ORDER BY r.`run_id` DESC LIMIT " . self::RUNS)->rows as $r) {
			$outcome = in_array($r['outcome'], self::OUTCOMES, true) ? $r['outcome'] : 'failed';
			$problems = self::object($r['problems']);
			$shown = [];

			foreach (array_slice(is_array($problems['shown'] ?? null) ? $problems['shown'] : [], 0, self::PROBLEMS_SHOWN) as $p) {
				if (is_array($p)) {
					$shown[] = sprintf($this->language->get('text_problem'), (int)($p['record'] ?? 0), (string)($p['code'] ?? ''), (string)($p['reason'] ?? ''));
				}
			}

			$runs[] = [
				'run_id'         => (int)$r['run_id'],
				'supplier'       => (string)$r['supplier'],
				'started_at'     => $r['started_at'],
				'finished_at'    => (string)$r['finished_at'],
				'outcome'        => $outcome,
				'outcome_text'   => $this->language->get('text_outcome_' . $outcome),
				'counts'         => sprintf($this->language->get('text_counts'), (int)$r['items'], (int)$r['created'], (int)$r['updated'], (int)$r['unchanged'], (int)$r['missing']),
				'reason'         => (string)$r['reason'],
				'problem_total'  => (int)($problems['total'] ?? 0),
				'problems'       => $shown,
			];
		}

		return $runs;
	}

	/**
	 * Orders forwarded to suppliers (of the open supplier, or of all), newest first, one SQL page:
	 * the state and the last error in words, tracking, and whether "send again" applies.
	 */
	private function supplierOrders(int $supplier_id): array {
		$repo = $this->repo();
		$page = $this->pageNo();
		$total = $repo->countSupplierOrders($supplier_id);
		$rows = [];

		foreach ($repo->getSupplierOrders($supplier_id, ($page - 1) * $this->limit(), $this->limit()) as $r) {
			$state = (string)$r['state'];
			$url = (string)$r['tracking_url'];
			$rows[] = [
				'order_id'        => (int)$r['order_id'],
				'supplier_id'     => (int)$r['supplier_id'],
				'order_href'      => $this->url->link('sale/order' . $this->sep() . 'info', $this->token() . '&order_id=' . (int)$r['order_id'], true),
				'supplier'        => $r['supplier_name'] !== null ? (string)$r['supplier_name'] : sprintf($this->language->get('text_supplier_gone'), (int)$r['supplier_id']),
				'state'           => $state,
				'state_text'      => in_array($state, Repo::SUPPLIER_ORDER_STATES, true) ? $this->language->get('text_state_' . $state) : $state,
				'remote_id'       => (string)$r['remote_id'],
				'carrier'         => (string)$r['carrier'],
				'tracking_number' => (string)$r['tracking_number'],
				// Only web addresses become links: a supplier's "javascript:" would run in the admin.
				'tracking_url'    => preg_match('~^https?://~i', $url) ? $url : '',
				'attempts'        => (int)$r['attempts'],
				'last_error'      => (string)$r['last_error'],
				'date_added'      => (string)$r['date_added'],
				'retryable'       => in_array($state, Repo::SUPPLIER_ORDER_RETRYABLE, true),
			];
		}

		// The page's only list with pages: `pagination` is the name the templates trust as HTML.
		return ['supplier_orders' => $rows] + $this->pagination($total, $page, ['supplier_id' => $supplier_id]);
	}

	public function save(): void {
		$this->boot();
		$json = [];

		if (!$this->guardModify($json)) {
			$this->json($json);

			return;
		}

		$post = $this->request->post;
		$supplier_id = (int)($post['supplier_id'] ?? 0);
		$row = $this->supplierRow($supplier_id);

		if ($supplier_id && !$row) {
			$this->json(['error' => $this->language->get('error_supplier')]);

			return;
		}

		$code = $this->input($post, 'code', 64);
		$name = $this->input($post, 'name', 128);
		$url = $this->input($post, 'url', 2048);
		$format = $this->input($post, 'format', 16);
		$preset = $this->input($post, 'preset', 32);
		$kind = $this->input($post, 'auth_kind', 16);
		$new = $this->input($post, 'new_products', 32);
		$missing = $this->input($post, 'missing_products', 32);
		$interval = (int)($post['interval'] ?? 60);
		// OpenCart's request cleaning escaped every posted value; JSON and URLs are needed as typed.
		$mapping = json_decode(html_entity_decode($this->input($post, 'mapping', 200000), ENT_QUOTES, 'UTF-8') ?: '{}', true);
		$rules = json_decode(html_entity_decode($this->input($post, 'rules', 200000), ENT_QUOTES, 'UTF-8') ?: '{}', true);
		$url = html_entity_decode($url, ENT_QUOTES, 'UTF-8');

		if (!preg_match('/^[a-z0-9_-]{1,64}$/', $code)) {
			$json['error']['code'] = $this->language->get('error_code');
		} elseif ((int)$this->db->query("SELECT COUNT(*) AS `n` FROM " . $this->table('kervan_supplier') . " WHERE `code` = '" . $this->db->escape($code) . "' AND `supplier_id` <> '" . $supplier_id . "'")->row['n']) {
			$json['error']['code'] = $this->language->get('error_code_taken');
		}

		if ($name === '') {
			$json['error']['name'] = $this->language->get('error_name');
		}

		if ($url !== '' && !preg_match('~^https?://[^/\s]+~i', $url)) {
			$json['error']['url'] = $this->language->get('error_feed_url');
		}

		if (!in_array($format, self::FORMATS, true) || !in_array($preset, self::PRESETS, true) || !in_array($kind, self::AUTH_KINDS, true)) {
			$json['error']['format'] = $this->language->get('error_format');
		}

		if (!is_array($mapping) || array_is_list($mapping) && $mapping) {
			$json['error']['mapping'] = $this->language->get('error_mapping');
		}

		if (!is_array($rules) || array_is_list($rules) && $rules) {
			$json['error']['rules'] = $this->language->get('error_rules');
		}

		if (!in_array($new, self::NEW_POLICIES, true) || !in_array($missing, self::MISSING_POLICIES, true)) {
			$json['error']['rules'] = $this->language->get('error_rules');
		}

		if ($interval < 5 || $interval > 10080) {
			$json['error']['interval'] = $this->language->get('error_interval');
		}

		if ($json) {
			$json['error']['warning'] = $this->language->get('error_form');
			$this->json($json);

			return;
		}

		$old = self::object($row['feed'] ?? null);
		$old_auth = is_array($old['auth'] ?? null) ? $old['auth'] : [];
		$auth = ['kind' => $kind];

		if ($kind === 'basic') {
			$auth['username'] = $this->input($post, 'auth_username', 255);
		} elseif ($kind === 'header') {
			$auth['header'] = $this->input($post, 'auth_header', 64) ?: 'Authorization';
		} elseif ($kind === 'query') {
			$auth['param'] = $this->input($post, 'auth_param', 64) ?: 'key';
		}

		if ($kind !== 'none') {
			// Write-only: an empty field keeps the stored secret.
			$secret = html_entity_decode($this->input($post, 'auth_secret', 1024), ENT_QUOTES, 'UTF-8');
			$field = $kind === 'basic' ? 'password' : 'token';
			$auth[$field] = $secret !== '' ? $secret : (string)($old_auth[$field] ?? '');
		}

		$feed = array_diff_key($mapping, array_flip(self::FEED_KEYS)) + ['url' => $url, 'format' => $format, 'auth' => $auth];

		if ($preset !== '') {
			$feed['preset'] = $preset;
		}

		$rules['new_products'] = $new;
		$rules['missing_products'] = $missing;
		$fields = "`code` = '" . $this->db->escape($code) . "', `name` = '" . $this->db->escape(html_entity_decode($name, ENT_QUOTES, 'UTF-8')) . "', `enabled` = '" . (int)!empty($post['enabled']) . "', `feed` = '" . $this->db->escape(json_encode($feed, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)) . "', `rules` = '" . $this->db->escape(json_encode((object)$rules, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)) . "', `import_interval` = '" . ($interval * 60) . "'";

		if ($row) {
			$this->db->query("UPDATE " . $this->table('kervan_supplier') . " SET " . $fields . " WHERE `supplier_id` = '" . $supplier_id . "'");
		} else {
			$this->db->query("INSERT INTO " . $this->table('kervan_supplier') . " SET " . $fields);
			$supplier_id = (int)$this->db->getLastId();
		}

		$json['success'] = $this->language->get('text_success');
		$json['redirect'] = str_replace('&amp;', '&', $this->link('', ['supplier_id' => $supplier_id]));
		$this->json($json);
	}

	/** "Import now": cmd.import_feed for the feeds worker, through the outbox like every command. */
	public function import(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$row = $this->supplierRow((int)($this->request->post['supplier_id'] ?? 0));

			if (!$row) {
				$json['error'] = $this->language->get('error_supplier');
			} elseif ($this->outbox()->write('cmd.import_feed', $row['code'], ['channel' => $row['code'], 'supplier' => $row['code'], 'manual' => true], 'admin') === null) {
				$json['error'] = $this->language->get('error_outbox');
			} else {
				$json['success'] = sprintf($this->language->get('text_import_queued'), htmlspecialchars($row['name'], ENT_QUOTES, 'UTF-8'));
			}
		}

		$this->json($json);
	}

	/**
	 * "Send again" for an on-hold or failed forward: cmd.dropship (action retry) through the outbox
	 * for the dropship worker, which sends it under a new key. No call to the supplier from here.
	 */
	public function retry(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$order_id = Outbox::id($this->request->post['order_id'] ?? 0);
			$supplier_id = Outbox::id($this->request->post['supplier_id'] ?? 0);
			$row = $order_id && $supplier_id ? $this->repo()->getSupplierOrder($order_id, $supplier_id) : [];

			if (!$row) {
				$json['error'] = $this->language->get('error_supplier_order');
			} elseif (!in_array($row['state'], Repo::SUPPLIER_ORDER_RETRYABLE, true)) {
				$json['error'] = sprintf($this->language->get('error_retry_state'), $this->language->get('text_state_' . (in_array($row['state'], Repo::SUPPLIER_ORDER_STATES, true) ? $row['state'] : 'reserved')));
			} elseif ($this->outbox()->dropshipRetry($order_id, $supplier_id, 'admin') === null) {
				$json['error'] = $this->language->get('error_outbox');
			} else {
				$json['success'] = sprintf($this->language->get('text_retry_queued'), $order_id);
			}
		}

		$this->json($json);
	}
}

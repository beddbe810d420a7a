<?php
namespace Opencart\System\Library\Extension\Kervan;
/**
 * The only writer of `{prefix}kervan_outbox` on the OpenCart side.
 *
 * One INSERT per event on OpenCart's own DB connection; no network call. write() never throws:
 * a failure goes to OpenCart's error log (the registry's `log`) and to
 * DIR_LOGS/kervan_outbox_error.log, which the Kervan dashboard shows.
 *
 * Contract with the Python side (bridge/outbox.py, bridge/envelope.py): event_id is a UUID v4,
 * payload a JSON object, source one of admin|storefront|kervan, event types from the list below.
 */
class Outbox {
	public const TYPES = [
		'product.saved'        => 'product',
		'product.deleted'      => 'product',
		'order.created'        => 'order',
		'order.status_changed' => 'order',
		'cmd.resync'           => 'channel',
		'cmd.full_reconcile'   => 'channel',
		'cmd.replay'           => 'parked',
		'cmd.channel_pause'    => 'channel',
		'cmd.channel_resume'   => 'channel',
		'cmd.import_feed'      => 'supplier',
		'cmd.dropship'         => 'supplier',
	];
	public const SOURCES = ['admin', 'storefront', 'kervan'];
	public const ERROR_FILE = 'kervan_outbox_error.log';

	/** @var object OpenCart DB (query/escape) */
	private object $db;
	private string $prefix;
	private ?object $log;
	private ?string $error_file;
	/** @var array<string, bool> product.saved already written in this request, per product id */
	private array $emitted = [];
	private string $last_error = '';

	public function __construct(object $db, string $prefix, ?object $log = null, ?string $error_file = null) {
		$this->db = $db;
		$this->prefix = $prefix;
		$this->log = $log;
		$this->error_file = $error_file;
	}

	/** The request-wide instance kept in OpenCart's registry (so per-request de-duplication works). */
	public static function fromRegistry(object $registry): self {
		$outbox = $registry->get('kervan_outbox');

		if (!$outbox instanceof self) {
			$dir = defined('DIR_LOGS') ? DIR_LOGS : null;
			$outbox = new self($registry->get('db'), defined('DB_PREFIX') ? DB_PREFIX : 'oc_', $registry->get('log'), $dir ? $dir . self::ERROR_FILE : null);
			$registry->set('kervan_outbox', $outbox);
		}

		return $outbox;
	}

	public static function uuid4(): string {
		$b = random_bytes(16);
		$b[6] = chr((ord($b[6]) & 0x0f) | 0x40);
		$b[8] = chr((ord($b[8]) & 0x3f) | 0x80);
		$h = bin2hex($b);

		return substr($h, 0, 8) . '-' . substr($h, 8, 4) . '-' . substr($h, 12, 4) . '-' . substr($h, 16, 4) . '-' . substr($h, 20, 12);
	}

	/** Positive int from whatever OpenCart passed ("42", 42, null, an array…); 0 when unusable. */
	public static function id(mixed $value): int {
		if (is_int($value)) {
			return max(0, $value);
		}

		if (is_string($value) && preg_match('/^\s*\d+\s*$/', $value)) {
			return max(0, (int)$value);
		}

		if (is_float($value) && $value >= 1 && floor($value) == $value) {
			return (int)$value;
		}

		return 0;
	}

	public function lastError(): string {
		return $this->last_error;
	}

	/**
	 * Insert one event. Returns the event_id, or null when nothing was written (invalid input or a
	 * database error, which is logged). Never throws.
	 */
	public function write(string $type, string $aggregate_id, array $payload, string $source, ?string $correlation_id = null): ?string {
		try {
			if (!isset(self::TYPES[$type])) {
				throw new \InvalidArgumentException('unknown event type ' . $type);
			}

			if (!in_array($source, self::SOURCES, true)) {
				throw new \InvalidArgumentException('unknown source ' . $source);
			}

			$json = json_encode((object)$payload, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
			$event_id = self::uuid4();

			$this->db->query("INSERT INTO `" . $this->prefix . "kervan_outbox` SET `event_id` = '" . $this->db->escape($event_id) . "', `event_type` = '" . $this->db->escape($type) . "', `aggregate_type` = '" . $this->db->escape(self::TYPES[$type]) . "', `aggregate_id` = '" . $this->db->escape(substr($aggregate_id, 0, 64)) . "', `payload` = '" . $this->db->escape($json) . "', `correlation_id` = " . ($correlation_id === null ? "NULL" : "'" . $this->db->escape($correlation_id) . "'") . ", `source` = '" . $this->db->escape($source) . "'");

			return $event_id;
		} catch (\Throwable $e) {
			$this->fail($type . ' ' . $aggregate_id . ': ' . $e->getMessage());

			return null;
		}
	}

	public function productSaved(mixed $product_id, string $source = 'admin'): ?string {
		$id = self::id($product_id);

		if (!$id) {
			return null;
		}

		if (isset($this->emitted[$id])) {
			return null; // already announced in this request (edit + editVariant, add + copy…)
		}

		$event_id = $this->write('product.saved', (string)$id, ['product_id' => $id], $source);

		if ($event_id !== null) {
			$this->emitted[$id] = true;
		}

		return $event_id;
	}

	public function productDeleted(mixed $product_id, string $source = 'admin'): ?string {
		$id = self::id($product_id);

		if (!$id) {
			return null;
		}

		unset($this->emitted[$id]);

		return $this->write('product.deleted', (string)$id, ['product_id' => $id], $source);
	}

	public function orderCreated(mixed $order_id, string $source = 'storefront'): ?string {
		$id = self::id($order_id);

		return $id ? $this->write('order.created', (string)$id, ['order_id' => $id], $source) : null;
	}

	public function orderStatusChanged(mixed $order_id, mixed $old_status_id, mixed $new_status_id, string $source = 'storefront'): ?string {
		$id = self::id($order_id);

		if (!$id) {
			return null;
		}

		return $this->write('order.status_changed', (string)$id, ['order_id' => $id, 'old_status_id' => self::id($old_status_id), 'new_status_id' => self::id($new_status_id)], $source);
	}

	/** @param int[]|null $product_ids null = every product */
	/** Ask the channel's catalog worker to compare every listing with what the marketplace holds. */
	public function fullReconcile(string $channel, string $source = 'admin'): ?string {
		return $this->write('cmd.full_reconcile', $channel, ['channel' => $channel], $source);
	}

	public function resync(string $channel, ?array $product_ids = null, string $source = 'admin'): ?string {
		$payload = ['channel' => $channel];

		if ($product_ids !== null) {
			$payload['product_ids'] = array_values(array_unique(array_filter(array_map([self::class, 'id'], $product_ids))));

			if (!$payload['product_ids']) {
				return null;
			}
		}

		return $this->write('cmd.resync', $channel, $payload, $source);
	}

	/** @param int[] $parked_ids */
	public function replay(array $parked_ids, string $source = 'admin'): ?string {
		$ids = array_values(array_unique(array_filter(array_map([self::class, 'id'], $parked_ids))));

		if (!$ids) {
			return null;
		}

		return $this->write('cmd.replay', implode(',', array_slice($ids, 0, 1)), ['parked_ids' => $ids], $source);
	}

	public function channelPause(string $channel, bool $pause = true, string $source = 'admin'): ?string {
		return $this->write($pause ? 'cmd.channel_pause' : 'cmd.channel_resume', $channel, ['channel' => $channel], $source);
	}

	/**
	 * The merchant's "send again" of an on-hold or failed supplier forward, for the dropship worker
	 * (workers/suppliers/dropship_worker.py). channel "suppliers" routes it as cmd.dropship.suppliers.
	 */
	public function dropshipRetry(int $order_id, int $supplier_id, string $source = 'admin'): ?string {
		if ($order_id <= 0 || $supplier_id <= 0) {
			return null;
		}

		return $this->write('cmd.dropship', (string)$supplier_id, ['channel' => 'suppliers', 'action' => 'retry', 'order_id' => $order_id, 'supplier_id' => $supplier_id], $source);
	}

	private function fail(string $message): void {
		$this->last_error = $message;
		$line = 'Kervan outbox write failed: ' . $message;

		try {
			if ($this->log && method_exists($this->log, 'write')) {
				$this->log->write($line);
			} else {
				error_log($line);
			}

			if ($this->error_file) {
				@file_put_contents($this->error_file, gmdate('Y-m-d H:i:s') . ' ' . str_replace(["\r", "\n"], ' ', $message) . "\n", FILE_APPEND | LOCK_EX);
			}
		} catch (\Throwable $e) {
			// Nothing may escape into OpenCart's save.
		}
	}
}

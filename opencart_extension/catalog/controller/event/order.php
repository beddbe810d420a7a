<?php
namespace Opencart\Catalog\Controller\Extension\Kervan\Event;
use Opencart\System\Library\Extension\Kervan\Outbox;
/**
 * Catalog order hooks → `order.created` and `order.status_changed` outbox rows.
 *
 * addHistory also runs for admin status changes (the admin calls the catalog API in-process), so
 * the source is taken from APPLICATION: 'storefront' in the shop, 'admin' from the admin.
 */
class Order extends \Opencart\System\Engine\Controller {
	/** order_id => stack of statuses read before addHistory ran (addHistory can nest). */
	private static array $before = [];

	private function source(): string {
		return (defined('APPLICATION') && APPLICATION === 'Admin') ? 'admin' : 'storefront';
	}

	/** addOrder(data) → order_id. */
	public function created(string &$route = '', array &$args = [], mixed &$output = null): void {
		try {
			Outbox::fromRegistry($this->registry)->orderCreated($output, $this->source());
		} catch (\Throwable $e) {
			$this->logError($e);
		}
	}

	/** addHistory(order_id, order_status_id[, comment, notify, override]) before: remember the old status. */
	public function historyBefore(string &$route = '', array &$args = []): void {
		try {
			$order_id = Outbox::id($args[0] ?? null);

			if ($order_id) {
				self::$before[$order_id][] = $this->status($order_id);
			}
		} catch (\Throwable $e) {
			$this->logError($e);
		}
	}

	/** after: the status actually stored now (addHistory may refuse, e.g. fraud) against the old one. */
	public function historyAfter(string &$route = '', array &$args = [], mixed &$output = null): void {
		try {
			$order_id = Outbox::id($args[0] ?? null);

			if (!$order_id) {
				return;
			}

			$old = isset(self::$before[$order_id]) ? array_pop(self::$before[$order_id]) : null;

			if (empty(self::$before[$order_id])) {
				unset(self::$before[$order_id]);
			}

			$new = $this->status($order_id);

			if ($new === null) {
				$new = Outbox::id($args[1] ?? null);
			}

			if ($old !== $new) {
				Outbox::fromRegistry($this->registry)->orderStatusChanged($order_id, (int)$old, (int)$new, $this->source());
			}
		} catch (\Throwable $e) {
			$this->logError($e);
		}
	}

	private function status(int $order_id): ?int {
		$query = $this->db->query("SELECT `order_status_id` FROM `" . DB_PREFIX . "order` WHERE `order_id` = '" . $order_id . "'");

		return $query->num_rows ? (int)$query->row['order_status_id'] : null;
	}

	private function logError(\Throwable $e): void {
		try {
			$this->log->write('Kervan order hook: ' . $e->getMessage());
		} catch (\Throwable $ignored) {
		}
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Event;
use Opencart\System\Library\Extension\Kervan\Outbox;
/**
 * Admin product hooks → one `product.saved` / `product.deleted` outbox row each.
 *
 * Every handler is (string &$route, array &$args, mixed &$output = null) and returns nothing (on
 * 4.0.x a non-null return would replace the model's output). Nothing may escape into the save:
 * Outbox::write() never throws, and the handlers guard the rest.
 */
class Product extends \Opencart\System\Engine\Controller {
	/** addProduct(data) → product_id (also reached through copyProduct and addVariant on 4.x). */
	public function add(string &$route = '', array &$args = [], mixed &$output = null): void {
		$this->emit($output);
	}

	/** editProduct(product_id, data); product_id may arrive as "42". */
	public function edit(string &$route = '', array &$args = [], mixed &$output = null): void {
		$this->emit($args[0] ?? null);
	}

	/** copyProduct(product_id) → new id on 4.1; void on 4.0.2.3 (its nested addProduct fires `add`). */
	public function copy(string &$route = '', array &$args = [], mixed &$output = null): void {
		$this->emit($output);
	}

	/** addVariant(master_id, data) → product_id. */
	public function addVariant(string &$route = '', array &$args = [], mixed &$output = null): void {
		$this->emit($output);
	}

	/** editVariant(master_id, product_id, data). */
	public function editVariant(string &$route = '', array &$args = [], mixed &$output = null): void {
		$this->emit($args[1] ?? null);
	}

	/** deleteProduct(product_id), after the rows are gone. */
	public function delete(string &$route = '', array &$args = [], mixed &$output = null): void {
		try {
			Outbox::fromRegistry($this->registry)->productDeleted($args[0] ?? null, 'admin');
		} catch (\Throwable $e) {
			$this->logError($e);
		}
	}

	private function emit(mixed $product_id): void {
		try {
			Outbox::fromRegistry($this->registry)->productSaved($product_id, 'admin');
		} catch (\Throwable $e) {
			$this->logError($e);
		}
	}

	private function logError(\Throwable $e): void {
		try {
			$this->log->write('Kervan product hook: ' . $e->getMessage());
		} catch (\Throwable $ignored) {
		}
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Event;
/**
 * Stale-form stock guard.
 *
 * OpenCart's product form posts back the stock it was rendered with, so a sale that happened
 * while the form was open would be undone by the save. `form` (view catalog/product_form/after)
 * adds hidden fields with the quantities the form was rendered with; `guard` (controller
 * catalog/product.save/before) replaces every quantity the merchant left unchanged with the live
 * value from the database, so only fields the merchant actually edited are written.
 */
class Stock extends \Opencart\System\Engine\Controller {
	public const FIELD = 'kervan_loaded';

	/** view after: ($route, $data, $output). */
	public function form(string &$route = '', array &$data = [], mixed &$output = null): void {
		try {
			if (!is_string($output) || !isset($data['quantity'])) {
				return;
			}

			$fields = '<input type="hidden" name="' . self::FIELD . '[quantity]" value="' . htmlspecialchars((string)$data['quantity'], ENT_QUOTES, 'UTF-8') . '"/>';

			foreach ((array)($data['product_options'] ?? []) as $product_option) {
				foreach ((array)($product_option['product_option_value'] ?? []) as $value) {
					if (isset($value['product_option_value_id'], $value['quantity'])) {
						$fields .= '<input type="hidden" name="' . self::FIELD . '[option][' . (int)$value['product_option_value_id'] . ']" value="' . htmlspecialchars((string)$value['quantity'], ENT_QUOTES, 'UTF-8') . '"/>';
					}
				}
			}

			$output = preg_replace('/(<form[^>]*id="form-product"[^>]*>)/', '$1' . str_replace(['\\', '$'], ['\\\\', '\\$'], $fields), $output, 1);
		} catch (\Throwable $e) {
			$this->log->write('Kervan stock form: ' . $e->getMessage());
		}
	}

	/** controller before: ($route, $args). Works on $this->request->post, which save() reads. */
	public function guard(string &$route = '', array &$args = []): void {
		try {
			$this->request->post = self::apply($this->db, DB_PREFIX, $this->request->post);
		} catch (\Throwable $e) {
			$this->log->write('Kervan stock guard: ' . $e->getMessage());
		}
	}

	/** The POST with unchanged quantities replaced by the live ones (pure enough to unit-test). */
	public static function apply(object $db, string $prefix, array $post): array {
		$loaded = $post[self::FIELD] ?? null;
		unset($post[self::FIELD]);

		$product_id = isset($post['product_id']) && is_scalar($post['product_id']) ? (int)$post['product_id'] : 0;

		if (!$product_id || !is_array($loaded)) {
			return $post;
		}

		if (isset($loaded['quantity'], $post['quantity']) && is_scalar($post['quantity']) && is_scalar($loaded['quantity']) && trim((string)$post['quantity']) === trim((string)$loaded['quantity'])) {
			$query = $db->query("SELECT `quantity` FROM `" . $prefix . "product` WHERE `product_id` = '" . $product_id . "'");

			if ($query->num_rows) {
				$post['quantity'] = (string)(int)$query->row['quantity'];
			}
		}

		if (!empty($loaded['option']) && is_array($loaded['option']) && isset($post['product_option']) && is_array($post['product_option'])) {
			$ids = array_map('intval', array_keys($loaded['option']));
			$live = [];

			if ($ids) {
				$query = $db->query("SELECT `product_option_value_id`, `quantity` FROM `" . $prefix . "product_option_value` WHERE `product_id` = '" . $product_id . "' AND `product_option_value_id` IN (" . implode(',', $ids) . ")");

				foreach ($query->rows as $row) {
					$live[(int)$row['product_option_value_id']] = (int)$row['quantity'];
				}
			}

			foreach ($post['product_option'] as $i => $product_option) {
				if (!is_array($product_option) || !isset($product_option['product_option_value']) || !is_array($product_option['product_option_value'])) {
					continue;
				}

				foreach ($product_option['product_option_value'] as $j => $value) {
					if (!is_array($value) || !isset($value['product_option_value_id'], $value['quantity']) || !is_scalar($value['quantity'])) {
						continue;
					}

					$id = (int)$value['product_option_value_id'];

					if (isset($live[$id], $loaded['option'][$id]) && is_scalar($loaded['option'][$id]) && trim((string)$value['quantity']) === trim((string)$loaded['option'][$id])) {
						$post['product_option'][$i]['product_option_value'][$j]['quantity'] = (string)$live[$id];
					}
				}
			}
		}

		return $post;
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Repo;
/**
 * Per-channel price rule (markup %, fixed amount, rounding to .90/.99, minimum price) and stock
 * rule (buffer, maximum), stored as top-level keys of kervan_channel.settings (Repo::RULE_KEYS;
 * `stock_buffer` is the key the catalog worker already reads). Other settings keys are kept.
 */
class Rule extends \Opencart\System\Library\Extension\Kervan\Page {
	public const ROUNDINGS = ['', '0.90', '0.99'];

	protected function page(): string {
		return 'rule';
	}

	public function index(): void {
		$this->boot();

		$page = $this->pageNo();
		$repo = $this->repo();
		$total = $repo->countChannels();
		$data['channels'] = [];

		foreach ($repo->getChannels(($page - 1) * $this->limit(), $this->limit()) as $row) {
			$settings = json_decode((string)$row['settings'], true);
			$settings = is_array($settings) ? $settings : [];
			$data['channels'][] = [
				'channel_id' => (int)$row['channel_id'],
				'name'       => $row['name'],
				'code'       => $row['code'],
				'rule'       => [
					'price_markup_percent' => (float)($settings['price_markup_percent'] ?? 0),
					'price_fixed_amount'   => (float)($settings['price_fixed_amount'] ?? 0),
					'price_rounding'       => (string)($settings['price_rounding'] ?? ''),
					'price_minimum'        => (float)($settings['price_minimum'] ?? 0),
					'stock_buffer'         => (int)($settings['stock_buffer'] ?? 0),
					'stock_maximum'        => (int)($settings['stock_maximum'] ?? 0),
				],
			];
		}

		$data['roundings'] = self::ROUNDINGS;
		$data['save'] = $this->link('save');
		$data += $this->pagination($total, $page, []);

		$this->render($data);
	}

	public function save(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$post = $this->request->post;
			$channel_id = (int)($post['channel_id'] ?? 0);

			if (!$this->repo()->getChannel($channel_id)) {
				$json['error']['warning'] = $this->language->get('error_not_found');
			}

			$values = [];

			foreach (['price_markup_percent', 'price_fixed_amount', 'price_minimum'] as $key) {
				$raw = str_replace(',', '.', $this->input($post, $key, 32));

				if ($raw !== '' && !is_numeric($raw)) {
					$json['error'][$key] = $this->language->get('error_number');
				}

				$values[$key] = round((float)$raw, 4);
			}

			foreach (['stock_buffer', 'stock_maximum'] as $key) {
				$raw = $this->input($post, $key, 16);

				if ($raw !== '' && !ctype_digit($raw)) {
					$json['error'][$key] = $this->language->get('error_number');
				}

				$values[$key] = (int)$raw;
			}

			$rounding = $this->input($post, 'price_rounding', 8);
			$values['price_rounding'] = in_array($rounding, self::ROUNDINGS, true) ? $rounding : '';

			if (!$json) {
				$this->repo()->mergeSettings($channel_id, $values);
				$json['success'] = $this->language->get('text_success');
			}
		}

		$this->json($json);
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
/**
 * Supplier feeds and order forwarding settings, stored now in OpenCart's settings (code
 * `kervan_supplier`, key `kervan_supplier_list`) for the dropshipping work.
 */
class Supplier extends \Opencart\System\Library\Extension\Kervan\Page {
	public const FORMATS = ['xml', 'csv', 'json'];
	public const MAX = 50;

	protected function page(): string {
		return 'supplier';
	}

	private function suppliers(): array {
		$list = $this->config->get('kervan_supplier_list');

		if (is_string($list)) {
			$list = json_decode($list, true);
		}

		return is_array($list) ? array_values($list) : [];
	}

	public function index(): void {
		$this->boot();

		$data['suppliers'] = array_slice($this->suppliers(), 0, self::MAX);
		$data['formats'] = self::FORMATS;
		$data['save'] = $this->link('save');

		$this->render($data);
	}

	public function save(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$rows = $this->request->post['supplier'] ?? [];
			$list = [];

			foreach (is_array($rows) ? array_slice($rows, 0, self::MAX) : [] as $i => $row) {
				if (!is_array($row)) {
					continue;
				}

				$item = [
					'name'          => $this->input($row, 'name', 128),
					'feed_url'      => $this->input($row, 'feed_url', 1024),
					'format'        => in_array($row['format'] ?? '', self::FORMATS, true) ? $row['format'] : 'xml',
					'forward_email' => $this->input($row, 'forward_email', 255),
					'forward'       => !empty($row['forward']),
				];

				if ($item['name'] === '' && $item['feed_url'] === '') {
					continue;
				}

				if ($item['feed_url'] !== '' && !preg_match('~^https?://~i', $item['feed_url'])) {
					$json['error']['warning'] = $this->language->get('error_feed_url');
				}

				if ($item['forward_email'] !== '' && !filter_var($item['forward_email'], FILTER_VALIDATE_EMAIL)) {
					$json['error']['warning'] = $this->language->get('error_email');
				}

				$list[] = $item;
			}

			if (!$json) {
				$this->load->model('setting/setting');
				$this->model_setting_setting->editSetting('kervan_supplier', ['kervan_supplier_list' => $list]);
				$json['success'] = $this->language->get('text_success');
				$json['redirect'] = str_replace('&amp;', '&', $this->link());
			}
		}

		$this->json($json);
	}
}

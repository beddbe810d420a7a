<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
/** Imported marketplace orders (kervan_order_link) with their OpenCart orders. */
class Order extends \Opencart\System\Library\Extension\Kervan\Page {
	protected function page(): string {
		return 'order';
	}

	public function index(): void {
		$this->boot();

		$channel_id = (int)($this->request->get['filter_channel_id'] ?? 0);
		$page = $this->pageNo();
		$repo = $this->repo();
		$total = $repo->countOrderLinks($channel_id);

		$data['orders'] = [];

		foreach ($repo->getOrderLinks($channel_id, $this->languageId(), ($page - 1) * $this->limit(), $this->limit()) as $row) {
			$row['customer'] = trim((string)$row['firstname'] . ' ' . (string)$row['lastname']);
			$row['total'] = $row['total'] !== null ? $this->currency->format((float)$row['total'], (string)($row['currency_code'] ?: $this->config->get('config_currency'))) : '';
			// Flags are codes ("unknown_sku", "ship_failed: <the marketplace's words>"): say them in words.
			$row['flags_text'] = [];

			foreach (array_filter(explode(',', (string)$row['flags'])) as $flag) {
				[$code, $detail] = array_pad(explode(':', $flag, 2), 2, '');
				$row['flags_text'][] = $this->language->get('flag_' . trim($code)) . ($detail !== '' ? ': ' . trim($detail) : '');
			}

			$row['order_href'] = $this->url->link('sale/order' . $this->sep() . 'info', $this->token() . '&order_id=' . (int)$row['order_id'], true);
			$data['orders'][] = $row;
		}

		$data['channels'] = [];

		foreach ($repo->channelOptions() as $c) {
			$data['channels'][] = $c + ['href' => $this->link('', ['filter_channel_id' => $c['channel_id']]), 'active' => $c['channel_id'] === $channel_id];
		}

		$data['all_href'] = $this->link();
		$data['filter_channel_id'] = $channel_id;
		$data += $this->pagination($total, $page, ['filter_channel_id' => $channel_id]);

		$this->render($data);
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Repo;
/**
 * Product × channel: filters (channel, status, category, search), the marketplace's error text,
 * "resync selected" and "list all products of category X on channel Y" (both cmd.resync).
 */
class Listing extends \Opencart\System\Library\Extension\Kervan\Page {
	protected function page(): string {
		return 'listing';
	}

	private function filters(): array {
		$get = $this->request->get;
		$status = $this->input($get, 'filter_status', 16);

		return [
			'channel_id'  => (int)($get['filter_channel_id'] ?? 0),
			'status'      => in_array($status, Repo::LISTING_STATUSES, true) ? $status : '',
			'category_id' => (int)($get['filter_category_id'] ?? 0),
			'search'      => $this->input($get, 'filter_search', 128),
			'language_id' => $this->languageId(),
		];
	}

	public function index(): void {
		$this->boot();

		$f = $this->filters();
		$page = $this->pageNo();
		$repo = $this->repo();
		$total = $repo->countListings($f);

		$data['listings'] = $repo->getListings($f, ($page - 1) * $this->limit(), $this->limit());
		$data['filter_channel_id'] = $f['channel_id'];
		$data['filter_status'] = $f['status'];
		$data['filter_category_id'] = $f['category_id'];
		$data['filter_search'] = $f['search'];
		$data['channels'] = $repo->channelOptions();
		$data['categories'] = $repo->categories($this->languageId());
		$data['statuses'] = Repo::LISTING_STATUSES;
		$data['action'] = $this->url->link($this->route(), '', true);
		$data['route'] = $this->route();
		$data['resync'] = $this->link('resync');
		$data['list_category'] = $this->link('category');

		foreach ($data['listings'] as &$row) {
			$row['product_href'] = $this->url->link('catalog/product' . $this->sep() . 'form', $this->token() . '&product_id=' . (int)$row['product_id'], true);
		}

		unset($row);

		$data += $this->pagination($total, $page, ['filter_channel_id' => $f['channel_id'], 'filter_status' => $f['status'], 'filter_category_id' => $f['category_id'], 'filter_search' => $f['search']]);

		$this->render($data);
	}

	/** POST selected[] = listing product ids, channel_id. */
	public function resync(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$channel = $this->repo()->getChannel((int)($this->request->post['channel_id'] ?? 0));
			$ids = $this->selected();

			if (!$channel) {
				$json['error'] = $this->language->get('error_channel');
			} elseif (!$ids) {
				$json['error'] = $this->language->get('error_selection');
			} elseif ($this->outbox()->resync($channel['code'], $ids, 'admin') === null) {
				$json['error'] = $this->language->get('error_outbox');
			} else {
				$json['success'] = sprintf($this->language->get('text_resync_queued'), count($ids), htmlspecialchars($channel['name'], ENT_QUOTES, 'UTF-8'));
			}
		}

		$this->json($json);
	}

	/** POST channel_id, category_id: bind every product of the category and queue a resync of them. */
	public function category(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$channel = $this->repo()->getChannel((int)($this->request->post['channel_id'] ?? 0));
			$ids = $this->repo()->categoryProductIds((int)($this->request->post['category_id'] ?? 0));

			if (!$channel) {
				$json['error'] = $this->language->get('error_channel');
			} elseif (!$ids) {
				$json['error'] = $this->language->get('error_category_empty');
			} else {
				$this->repo()->ensureListings((int)$channel['channel_id'], $ids);

				if ($this->outbox()->resync($channel['code'], $ids, 'admin') === null) {
					$json['error'] = $this->language->get('error_outbox');
				} else {
					$json['success'] = sprintf($this->language->get('text_resync_queued'), count($ids), htmlspecialchars($channel['name'], ENT_QUOTES, 'UTF-8'));
				}
			}
		}

		$this->json($json);
	}
}

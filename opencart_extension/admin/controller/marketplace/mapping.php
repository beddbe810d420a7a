<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Repo;
/**
 * OpenCart category / brand / attribute → marketplace id, per channel (kervan_mapping).
 * `extra` carries the category's fixed attributes ({"attributes": [...]}, read by the catalog
 * worker) or an attribute's value mapping ({"values": {"Red": "123"}}).
 */
class Mapping extends \Opencart\System\Library\Extension\Kervan\Page {
	protected function page(): string {
		return 'mapping';
	}

	private function state(): array {
		$channels = $this->repo()->channelOptions();
		$channel_id = (int)($this->request->get['channel_id'] ?? $this->request->post['channel_id'] ?? 0);
		$ids = array_column($channels, 'channel_id');

		if (!in_array($channel_id, $ids, true)) {
			$channel_id = $ids[0] ?? 0;
		}

		$kind = $this->input($this->request->get + $this->request->post, 'kind', 16);

		if (!in_array($kind, Repo::MAPPING_KINDS, true)) {
			$kind = 'category';
		}

		return [$channels, $channel_id, $kind];
	}

	public function index(): void {
		$this->boot();
		[$channels, $channel_id, $kind] = $this->state();

		$page = $this->pageNo();
		$repo = $this->repo();
		$total = $channel_id ? $repo->countMappings($channel_id, $kind) : 0;

		$data['channels'] = [];

		foreach ($channels as $c) {
			$data['channels'][] = $c + ['href' => $this->link('', ['channel_id' => $c['channel_id'], 'kind' => $kind]), 'active' => $c['channel_id'] === $channel_id];
		}

		$data['kinds'] = [];

		foreach (Repo::MAPPING_KINDS as $k) {
			$data['kinds'][] = ['kind' => $k, 'text' => $this->language->get('text_kind_' . $k), 'href' => $this->link('', ['channel_id' => $channel_id, 'kind' => $k]), 'active' => $k === $kind];
		}

		$data['mappings'] = $channel_id ? $repo->getMappings($channel_id, $kind, $this->languageId(), ($page - 1) * $this->limit(), $this->limit()) : [];
		$data['choices'] = $repo->localChoices($kind, $this->languageId());
		$data['channel_id'] = $channel_id;
		$data['kind'] = $kind;
		$data['save'] = $this->link('save');
		$data['delete'] = $this->link('delete');
		$data += $this->pagination($total, $page, ['channel_id' => $channel_id, 'kind' => $kind]);

		$this->render($data);
	}

	public function save(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			[, $channel_id, $kind] = $this->state();
			$local = $this->input($this->request->post, 'local_id', 64);
			$remote = $this->input($this->request->post, 'remote_id', 64);
			$extra_text = $this->input($this->request->post, 'extra', 65535);
			$extra = $extra_text === '' ? [] : json_decode($extra_text, true);

			if (!$channel_id) {
				$json['error']['warning'] = $this->language->get('error_channel');
			}

			if ($local === '' || !ctype_digit($local)) {
				$json['error']['local_id'] = $this->language->get('error_local');
			}

			if ($remote === '') {
				$json['error']['remote_id'] = $this->language->get('error_remote');
			}

			if (!is_array($extra) || ($extra && array_is_list($extra))) {
				$json['error']['extra'] = $this->language->get('error_extra');
			}

			if (!$json) {
				$this->repo()->saveMapping($channel_id, $kind, $local, $remote, $extra);
				$json['success'] = $this->language->get('text_success');
				$json['redirect'] = str_replace('&amp;', '&', $this->link('', ['channel_id' => $channel_id, 'kind' => $kind]));
			}
		}

		$this->json($json);
	}

	public function delete(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			[, $channel_id, $kind] = $this->state();
			$ids = $this->selected();

			if (!$ids) {
				$json['error'] = $this->language->get('error_selection');
			} else {
				$this->repo()->deleteMappings($channel_id, $ids);
				$json['success'] = $this->language->get('text_success');
				$json['redirect'] = str_replace('&amp;', '&', $this->link('', ['channel_id' => $channel_id, 'kind' => $kind]));
			}
		}

		$this->json($json);
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Repo;
/**
 * OpenCart category / brand / attribute → marketplace id, per channel (kervan_mapping).
 * `extra` carries the category's fixed attributes ({"attributes": [...]}, read by the catalog
 * worker) or an attribute's value mapping ({"values": {"Red": "123"}}).
 *
 * Categories are picked from the marketplace's own list (kervan_category, downloaded by
 * `kervan categories --channel CODE`) and show the required attributes downloaded for them
 * (kervan_category_attribute); until a list is downloaded the id is typed as before.
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

	/** A link for JavaScript and JSON: OpenCart's url->link() answers with `&amp;` for HTML. */
	private function plainLink(string $method, array $args = []): string {
		return str_replace('&amp;', '&', $this->link($method, $args));
	}

	private function channelCode(array $channels, int $channel_id): string {
		foreach ($channels as $c) {
			if ($c['channel_id'] === $channel_id) {
				return $c['code'];
			}
		}

		return '';
	}

	/** Attributes as the page shows them: required first, values joined for a tooltip. */
	private function attributeView(array $attributes): array {
		usort($attributes, fn ($a, $b) => (int)$b['required'] <=> (int)$a['required']);

		return array_map(fn ($a) => [
			'id'           => (string)$a['attribute_id'],
			'name'         => (string)$a['name'],
			'required'     => $a['required'],
			'allow_custom' => $a['allow_custom'],
			'values'       => implode(', ', $a['values']) . ($a['value_count'] > count($a['values']) ? ', …' : ''),
			'value_count'  => $a['value_count'],
		], $attributes);
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
		$code = $this->channelCode($channels, $channel_id);
		$data['remote_total'] = 0;
		$data['remote_categories'] = [];

		if ($kind === 'category' && $channel_id) {
			$required = $repo->categoryAttributes($channel_id, array_column($data['mappings'], 'remote_id'), true);

			foreach ($data['mappings'] as &$m) {
				$m['required'] = $this->attributeView($required[$m['remote_id']] ?? []);
			}

			unset($m);
			$data['remote_total'] = $repo->countRemoteCategories($channel_id);
			// The first ones fill the list at once; typing asks `categories` for the rest.
			$data['remote_categories'] = $data['remote_total'] ? $repo->remoteCategories($channel_id, '', 200) : [];
			$data['categories_url'] = $this->plainLink('categories', ['channel_id' => $channel_id]);
			$data['attributes_url'] = $this->plainLink('attributes', ['channel_id' => $channel_id]);
		}

		$data['text_remote_search'] = sprintf($this->language->get('text_remote_search'), $data['remote_total']);
		$data['text_no_remote_categories'] = sprintf($this->language->get('text_no_remote_categories'), $code);
		$data['text_no_attributes'] = sprintf($this->language->get('text_no_attributes'), $code);
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
			} elseif ($kind === 'category' && $channel_id && $this->repo()->countRemoteCategories($channel_id)) {
				// Once the marketplace's list is downloaded, only its leaves are accepted: a typo or a
				// parent category would only fail later, product by product, at the marketplace.
				$category = $this->repo()->remoteCategory($channel_id, $remote);

				if (!$category || !$category['leaf']) {
					$json['error']['remote_id'] = $this->language->get('error_remote_category');
				}
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

	/** JSON: leaf categories of the channel matching `filter_name` (path words or id), for the picker. */
	public function categories(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			[, $channel_id] = $this->state();
			$search = $this->input($this->request->get, 'filter_name', 255);
			$json['categories'] = [];

			foreach ($channel_id ? $this->repo()->remoteCategories($channel_id, $search, 50) : [] as $row) {
				$json['categories'][] = ['remote_id' => (string)$row['remote_id'], 'path' => (string)$row['path']];
			}
		}

		$this->json($json);
	}

	/** JSON: the downloaded attributes of one remote category, required ones first. */
	public function attributes(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			[, $channel_id] = $this->state();
			$remote = $this->input($this->request->get, 'remote_id', 64);
			$category = $channel_id && $remote !== '' ? $this->repo()->remoteCategory($channel_id, $remote) : [];
			$json['category'] = $category ? ['remote_id' => (string)$category['remote_id'], 'path' => (string)$category['path'], 'leaf' => (bool)$category['leaf']] : null;
			$json['attributes'] = $category ? $this->attributeView($this->repo()->categoryAttributes($channel_id, [$remote])[$remote] ?? []) : [];
		}

		$this->json($json);
	}
}

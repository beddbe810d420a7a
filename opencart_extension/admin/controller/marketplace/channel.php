<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Repo;
/**
 * Marketplace accounts: list, add/edit (credentials write-only), enable/disable, pause/resume
 * (sets kervan_channel.paused and queues cmd.channel_pause / cmd.channel_resume).
 */
class Channel extends \Opencart\System\Library\Extension\Kervan\Page {
	protected function page(): string {
		return 'channel';
	}

	public function index(): void {
		$this->boot();

		$page = $this->pageNo();
		$repo = $this->repo();
		$total = $repo->countChannels();
		$data['channels'] = [];

		foreach ($repo->getChannels(($page - 1) * $this->limit(), $this->limit()) as $row) {
			$data['channels'][] = [
				'channel_id'      => (int)$row['channel_id'],
				'code'            => $row['code'],
				'account'         => $row['account'],
				'name'            => $row['name'],
				'base_url'        => $row['base_url'],
				'seller_id'       => $row['seller_id'],
				'status'          => (bool)$row['status'],
				'paused'          => (bool)$row['paused'],
				'has_credentials' => (bool)$row['has_credentials'],
				'edit'            => $this->link('form', ['channel_id' => (int)$row['channel_id']]),
			];
		}

		$data['add'] = $this->link('form');
		$data['action_status'] = $this->link('status');
		$data['action_pause'] = $this->link('pause');
		$data += $this->pagination($total, $page, []);

		$this->render($data);
	}

	public function form(): void {
		$this->boot();

		$channel_id = (int)($this->request->get['channel_id'] ?? 0);
		$channel = $channel_id ? $this->repo()->getChannel($channel_id) : [];

		$data['channel_id'] = $channel ? (int)$channel['channel_id'] : 0;
		$data['code'] = $channel['code'] ?? 'trendyol';
		$data['account'] = $channel['account'] ?? 'default';
		$data['name'] = $channel['name'] ?? '';
		$data['base_url'] = $channel['base_url'] ?? '';
		$data['seller_id'] = $channel['seller_id'] ?? '';
		$data['status'] = $channel ? (bool)$channel['status'] : true;
		$data['has_credentials'] = $channel ? (bool)$channel['has_credentials'] : false;
		$data['codes'] = [];

		foreach (Repo::CHANNEL_FIELDS as $code => $fields) {
			$data['codes'][] = ['code' => $code, 'name' => $this->language->get('text_channel_' . $code), 'base_url' => $fields['base_url'], 'credentials' => $fields['credentials']];
		}

		$data['credential_labels'] = [];

		foreach (Repo::CHANNEL_FIELDS as $fields) {
			foreach ($fields['credentials'] as $key) {
				$data['credential_labels'][$key] = $this->language->get('entry_cred_' . $key);
			}
		}

		$data['save'] = $this->link('save');
		$data['back'] = $this->link();
		$data['form'] = true;

		$this->render($data);
	}

	public function save(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$post = $this->request->post;
			$channel_id = (int)($post['channel_id'] ?? 0);
			$data = [
				'code'      => $this->input($post, 'code', 32),
				'account'   => $this->input($post, 'account', 64) ?: 'default',
				'name'      => $this->input($post, 'name', 128),
				'base_url'  => $this->input($post, 'base_url', 255),
				'seller_id' => $this->input($post, 'seller_id', 64),
				'status'    => !empty($post['status']),
			];

			if (!isset(Repo::CHANNEL_FIELDS[$data['code']])) {
				$json['error']['code'] = $this->language->get('error_code');
			}

			if ($data['name'] === '') {
				$json['error']['name'] = $this->language->get('error_name');
			}

			if ($data['base_url'] === '' && isset(Repo::CHANNEL_FIELDS[$data['code']])) {
				$data['base_url'] = Repo::CHANNEL_FIELDS[$data['code']]['base_url'];
			}

			if (!preg_match('~^https?://~i', $data['base_url'])) {
				$json['error']['base_url'] = $this->language->get('error_base_url');
			}

			if (!preg_match('/^[A-Za-z0-9_.-]+$/', $data['account'])) {
				$json['error']['account'] = $this->language->get('error_account');
			}

			if (!$json && $this->repo()->channelExists($data['code'], $data['account'], $channel_id)) {
				$json['error']['account'] = $this->language->get('error_exists');
			}

			if ($channel_id && !$this->repo()->getChannel($channel_id)) {
				$json['error']['warning'] = $this->language->get('error_not_found');
			}

			if (!$json) {
				$credentials = [];
				$posted = isset($post['credentials']) && is_array($post['credentials']) ? $post['credentials'] : [];

				foreach (Repo::CHANNEL_FIELDS[$data['code']]['credentials'] as $key) {
					$credentials[$key] = $this->input($posted, $key, 2048);
				}

				$this->repo()->saveChannel($channel_id, $data, $credentials);
				$json['success'] = $this->language->get('text_success');
				$json['redirect'] = str_replace('&amp;', '&', $this->link());
			}
		}

		$this->json($json);
	}

	/** Enable/disable: POST channel_id, value (0/1). */
	public function status(): void {
		$this->flag('status');
	}

	/** Pause/resume: POST channel_id, value (1 = pause). Also queues the command for the fleet. */
	public function pause(): void {
		$this->flag('paused');
	}

	private function flag(string $flag): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$channel = $this->repo()->getChannel((int)($this->request->post['channel_id'] ?? 0));
			$value = !empty($this->request->post['value']);

			if (!$channel) {
				$json['error'] = $this->language->get('error_not_found');
			} else {
				$this->repo()->setChannelFlag((int)$channel['channel_id'], $flag, $value);

				if ($flag === 'paused' && $this->outbox()->channelPause($channel['code'], $value, 'admin') === null) {
					$json['error'] = $this->language->get('error_outbox');
				} else {
					$json['success'] = $this->language->get('text_success');
					$json['redirect'] = str_replace('&amp;', '&', $this->link());
				}
			}
		}

		$this->json($json);
	}
}

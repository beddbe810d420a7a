<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
/** Parked messages: reason, attempts; replay (cmd.replay) or discard the selected ones. */
class Parked extends \Opencart\System\Library\Extension\Kervan\Page {
	public const STATUSES = ['open', 'replayed', 'discarded'];

	protected function page(): string {
		return 'parked';
	}

	public function index(): void {
		$this->boot();

		$status = $this->input($this->request->get, 'filter_status', 16);

		if (!in_array($status, self::STATUSES, true)) {
			$status = 'open';
		}

		$page = $this->pageNo();
		$repo = $this->repo();
		$total = $repo->countParked($status);

		$data['parked'] = $repo->getParked($status, ($page - 1) * $this->limit(), $this->limit());
		$data['filter_status'] = $status;
		$data['statuses'] = [];

		foreach (self::STATUSES as $s) {
			$data['statuses'][] = ['value' => $s, 'text' => $this->language->get('text_parked_' . $s), 'href' => $this->link('', ['filter_status' => $s])];
		}

		$data['replay'] = $this->link('replay');
		$data['discard'] = $this->link('discard');
		$data += $this->pagination($total, $page, ['filter_status' => $status]);

		$this->render($data);
	}

	public function replay(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$ids = $this->repo()->openParked($this->selected());

			if (!$ids) {
				$json['error'] = $this->language->get('error_selection');
			} elseif ($this->outbox()->replay($ids, 'admin') === null) {
				$json['error'] = $this->language->get('error_outbox');
			} else {
				$json['success'] = sprintf($this->language->get('text_replay_queued'), count($ids));
			}
		}

		$this->json($json);
	}

	public function discard(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$n = $this->repo()->discardParked($this->selected());

			if (!$n) {
				$json['error'] = $this->language->get('error_selection');
			} else {
				$json['success'] = sprintf($this->language->get('text_discarded'), $n);
				$json['redirect'] = str_replace('&amp;', '&', $this->link());
			}
		}

		$this->json($json);
	}
}

<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Outbox;
/**
 * Fleet health (kervan_heartbeat), per-channel counts, pause/breaker state, parked count,
 * recent errors (listings and failed outbox writes), syncs per hour over the last day, and each
 * channel's last full reconciliation (what drifted on the marketplace and was put right), with a
 * button to run one now (cmd.full_reconcile).
 */
class Dashboard extends \Opencart\System\Library\Extension\Kervan\Page {
	protected function page(): string {
		return 'dashboard';
	}

	public function index(): void {
		$this->boot();
		$repo = $this->repo();

		$data['processes'] = [];

		foreach ($repo->heartbeats() as $row) {
			$counters = json_decode((string)$row['counters'], true);
			$data['processes'][] = [
				'process_id' => $row['process_id'],
				'role'       => $row['role'],
				'channel'    => $row['channel'],
				'host'       => $row['host'],
				'pid'        => (int)$row['pid'],
				'state'      => $row['state'],
				'alive'      => (bool)$row['alive'],
				'age'        => (int)$row['age'],
				'counters'   => is_array($counters) ? $counters : [],
			];
		}

		$counts = $repo->listingCounts();
		$breakers = [];

		foreach ($data['processes'] as $process) {
			// Workers may publish their breaker state in heartbeat counters (breaker_open = 1).
			if ($process['alive'] && $process['channel'] !== '' && !empty($process['counters']['breaker_open'])) {
				$breakers[$process['channel']] = true;
			}
		}

		$data['channels'] = [];

		foreach ($repo->getChannels(0, 50) as $channel) {
			$c = $counts[(int)$channel['channel_id']] ?? ['listed' => 0, 'pending' => 0, 'error' => 0, 'total' => 0];
			$data['channels'][] = [
				'name'    => $channel['name'],
				'code'    => $channel['code'],
				'account' => $channel['account'],
				'status'  => (bool)$channel['status'],
				'paused'  => (bool)$channel['paused'],
				'breaker' => isset($breakers[$channel['code']]) ? $this->language->get('text_breaker_open') : $this->language->get('text_breaker_closed'),
				'href'    => $this->link('', ['filter_channel_id' => (int)$channel['channel_id']], 'listing'),
			] + $c;
		}

		$data['parked_open'] = $repo->countParked('open');
		$data['parked_href'] = $this->link('', [], 'parked');
		$data['outbox'] = $repo->outboxLag();
		$data['errors'] = $repo->recentErrors(10);

		$data['outbox_errors'] = [];
		$file = DIR_LOGS . Outbox::ERROR_FILE;

		if (is_file($file) && filesize($file) > 0) {
			$fh = fopen($file, 'r');
			fseek($fh, max(0, filesize($file) - 8192));
			$lines = array_filter(explode("\n", (string)stream_get_contents($fh)));
			fclose($fh);
			$data['outbox_errors'] = array_slice(array_values($lines), -10);
		}

		$data['reconciliations'] = [];

		foreach ($repo->lastReconciliations() as $row) {
			$drift = json_decode((string)$row['drift'], true);
			$data['reconciliations'][] = [
				'channel'  => $row['channel_name'],
				'started'  => $row['started_at'],
				'outcome'  => $this->language->get('text_outcome_' . $row['outcome']),
				'checked'  => (int)$row['checked'],
				'drifted'  => (int)$row['drifted'],
				'missing'  => (int)$row['missing'],
				'fixed'    => (int)$row['fixed'],
				'error'    => (string)$row['error'],
				'examples' => array_map(fn ($d) => sprintf($this->language->get('text_drift_example'), (int)($d['product_id'] ?? 0), (string)($d['field'] ?? ''), json_encode($d['expected'] ?? null, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), json_encode($d['held'] ?? null, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)), array_slice(is_array($drift) ? $drift : [], 0, 5)),
			];
		}

		$data['reconcile'] = $this->link('reconcile');
		$data['reconcile_channels'] = $repo->channelOptions();

		$hours = $repo->syncsPerHour();
		$max = max(1, ...array_map(fn ($h) => $h['count'], $hours));
		$data['chart'] = [];

		foreach ($hours as $h) {
			$data['chart'][] = ['label' => substr($h['hour'], 11, 2) . ':00', 'count' => $h['count'], 'height' => (int)round(100 * $h['count'] / $max)];
		}

		$this->render($data);
	}

	/** POST channel_id: queue a full reconciliation of that channel now. */
	public function reconcile(): void {
		$this->boot();
		$json = [];

		if ($this->guardModify($json)) {
			$channel = $this->repo()->getChannel((int)($this->request->post['channel_id'] ?? 0));

			if (!$channel) {
				$json['error'] = $this->language->get('error_channel');
			} elseif ($this->outbox()->fullReconcile($channel['code'], 'admin') === null) {
				$json['error'] = $this->language->get('error_outbox');
			} else {
				$json['success'] = sprintf($this->language->get('text_reconcile_queued'), htmlspecialchars($channel['name'], ENT_QUOTES, 'UTF-8'));
			}
		}

		$this->json($json);
	}
}

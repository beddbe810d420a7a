<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Marketplace;
use Opencart\System\Library\Extension\Kervan\Outbox;
/**
 * Fleet health (kervan_heartbeat), per-channel counts, pause/breaker state, parked count,
 * recent errors (listings and failed outbox writes), syncs per hour over the last day.
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

		$hours = $repo->syncsPerHour();
		$max = max(1, ...array_map(fn ($h) => $h['count'], $hours));
		$data['chart'] = [];

		foreach ($hours as $h) {
			$data['chart'][] = ['label' => substr($h['hour'], 11, 2) . ':00', 'count' => $h['count'], 'height' => (int)round(100 * $h['count'] / $max)];
		}

		$this->render($data);
	}
}

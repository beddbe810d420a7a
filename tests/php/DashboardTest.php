<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Marketplace\Dashboard;

/**
 * The dashboard shows each channel's last full reconciliation in words (what drifted and what was
 * resent), escaped, and its "reconcile now" button queues cmd.full_reconcile; and each channel's
 * breaker as its live workers report it in their heartbeats.
 */
final class DashboardTest extends TestCase {
	public function testLastReconciliationIsShownAndCanBeStartedNow(): void {
		$channel = $this->addChannel('n11', 'N11 <b>mağaza</b>');
		$drift = json_encode([['product_id' => 40, 'key' => 'P-40', 'field' => 'quantity', 'expected' => 7, 'held' => '<i>777</i>']]);
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_reconcile_report` SET `channel_id` = '" . $channel . "', `started_at` = NOW() - INTERVAL 1 DAY, `outcome` = 'ok', `checked` = 1");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_reconcile_report` SET `channel_id` = '" . $channel . "', `finished_at` = NOW(), `outcome` = 'ok', `checked` = 19, `drifted` = 1, `fixed` = 1, `drift` = '" . $this->db->escape($drift) . "'");

		(new Dashboard($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();

		$this->assertStringContainsString('Product #40: quantity should be 7, the marketplace held &quot;&lt;i&gt;777&lt;/i&gt;&quot;', $html);
		$this->assertStringContainsString('N11 &lt;b&gt;mağaza&lt;/b&gt;', $html);
		$this->assertSame(1, substr_count($html, '<td class="text-end">19</td>'), 'only the latest report per channel');
		$this->assertStringNotContainsString('<i>777</i>', $html);

		$this->registry->get('request')->post = ['channel_id' => (string)$channel];
		(new Dashboard($this->registry))->reconcile();
		$this->assertArrayHasKey('success', $this->json());
		$rows = $this->outboxRows();
		$this->assertSame(['cmd.full_reconcile'], array_column($rows, 'event_type'));
		$this->assertSame(['channel' => 'n11'], json_decode($rows[0]['payload'], true));

		$readonly = $this->registry(\Opencart\System\Library\Extension\Kervan\Installer::ROUTES, []);
		$readonly->get('request')->post = ['channel_id' => (string)$channel];
		(new Dashboard($readonly))->reconcile();
		$this->assertCount(1, $this->outboxRows(), 'refused without modify permission');
	}

	public function testAnOpenBreakerReportedByALiveWorkerIsShownOnItsChannelOnly(): void {
		$this->addChannel('trendyol', 'Trendyol');
		$this->addChannel('n11', 'N11');
		$beat = "INSERT INTO `" . DB_PREFIX . "kervan_heartbeat` SET `role` = 'catalog', `host` = 'h', `pid` = 1, `state` = 'paused', `started_at` = NOW(), ";
		$this->db->query($beat . "`process_id` = 'live', `channel` = 'trendyol', `last_seen` = CURRENT_TIMESTAMP(6), `counters` = '{\"breaker_open\":1}'");
		// A worker that died with its breaker open says nothing about the channel any more.
		$this->db->query($beat . "`process_id` = 'dead', `channel` = 'n11', `last_seen` = NOW() - INTERVAL 1 HOUR, `counters` = '{\"breaker_open\":1}'");

		(new Dashboard($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();

		$this->assertMatchesRegularExpression('~>Trendyol</a>(?:(?!</tr>).)*<td>open</td>~s', $html);
		$this->assertMatchesRegularExpression('~>N11</a>(?:(?!</tr>).)*<td>closed</td>~s', $html);
		$this->assertSame(1, substr_count($html, '<td>open</td>'));
	}
}

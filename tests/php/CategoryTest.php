<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Marketplace\Mapping;
use Opencart\System\Library\Extension\Kervan\Installer;
use Opencart\System\Library\Extension\Kervan\Repo;

/**
 * The marketplace category list on the mapping page: Repo's queries over kervan_category /
 * kervan_category_attribute (as workers/categories.py writes them), the picker and the required
 * attributes rendered escaped, and saving only leaves of the downloaded list.
 */
final class CategoryTest extends TestCase {
	public const HOSTILE = '<script>alert(1)</script>';

	private int $channel;
	private int $other;

	protected function setUp(): void {
		parent::setUp();
		$this->channel = $this->addChannel('trendyol', 'Trendyol');
		$this->other = $this->addChannel('n11', 'N11');

		// [remote_id, parent, name, path, leaf]
		$tree = [
			['100', null, 'Giyim', 'Giyim', 0],
			['110', '100', 'Kadın', 'Giyim > Kadın', 0],
			['111', '110', 'Elbise', 'Giyim > Kadın > Elbise', 1],
			['112', '110', 'İç Giyim', 'Giyim > Kadın > İç Giyim', 1],
			['113', '110', 'Şal & Eşarp', 'Giyim > Kadın > Şal & Eşarp', 1],
			['120', '100', '50% İndirim', 'Giyim > 50% İndirim', 1],
			['130', '100', self::HOSTILE, 'Giyim > ' . self::HOSTILE, 1],
		];

		foreach ($tree as [$id, $parent, $name, $path, $leaf]) {
			$this->category($this->channel, $id, $parent, $name, $path, $leaf);
		}

		// The same id on another channel is another category.
		$this->category($this->other, '111', null, 'Ağ Kamerası', 'Elektronik > Ağ Kamerası', 1);

		$this->attribute($this->channel, '111', '1192', 'Menşei', 1, 0, [['id' => '10617', 'name' => 'TR'], ['id' => '10618', 'name' => 'CN']], 0);
		$this->attribute($this->channel, '111', '47', 'Renk', 0, 1, [], 1);
		$this->attribute($this->channel, '111', '338', 'Beden ' . self::HOSTILE, 1, 0, array_map(fn ($i) => ['id' => (string)$i, 'name' => 'B' . $i], range(1, 30)), 2);
		$this->attribute($this->other, '111', '1', 'Marka', 1, 1, [], 0);
	}

	private function category(int $channel, string $id, ?string $parent, string $name, string $path, int $leaf): void {
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_category` SET `channel_id` = '" . $channel . "', `remote_id` = '" . $this->db->escape($id) . "', `parent_remote_id` = " . ($parent === null ? "NULL" : "'" . $this->db->escape($parent) . "'") . ", `name` = '" . $this->db->escape($name) . "', `path` = '" . $this->db->escape($path) . "', `leaf` = '" . $leaf . "'");
	}

	private function attribute(int $channel, string $category, string $id, string $name, int $required, int $custom, array $values, int $order): void {
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_category_attribute` SET `channel_id` = '" . $channel . "', `category_remote_id` = '" . $this->db->escape($category) . "', `attribute_id` = '" . $this->db->escape($id) . "', `name` = '" . $this->db->escape($name) . "', `required` = '" . $required . "', `allow_custom` = '" . $custom . "', `values_json` = '" . $this->db->escape(json_encode($values, JSON_UNESCAPED_UNICODE)) . "', `sort_order` = '" . $order . "'");
	}

	private function repo(): Repo {
		return new Repo($this->db, DB_PREFIX);
	}

	private function ids(array $rows): array {
		return array_column($rows, 'remote_id');
	}

	public function testRemoteCategoriesAreTheChannelsLeavesByPath(): void {
		$repo = $this->repo();
		$this->assertSame(5, $repo->countRemoteCategories($this->channel));
		$this->assertSame(1, $repo->countRemoteCategories($this->other));
		$this->assertSame(0, $repo->countRemoteCategories(999));

		$rows = $repo->remoteCategories($this->channel, '', 50);
		// The collation's order: symbols before digits before letters, İ with I, Ş with S.
		$this->assertSame(['130', '120', '111', '112', '113'], $this->ids($rows), 'leaves only, this channel only, by path');
		$this->assertSame('Giyim > Kadın > Elbise', $rows[2]['path']);
		$this->assertSame(['remote_id', 'name', 'path'], array_keys($rows[0]));
		$this->assertCount(2, $repo->remoteCategories($this->channel, '', 2), 'limited in SQL');
		$this->assertTrue((bool)array_filter($this->db->queries, fn ($q) => str_contains($q, 'kervan_category') && str_contains($q, 'LIMIT 2')));
	}

	public function testSearchMatchesPathWordsTurkishAwareOrTheId(): void {
		$repo = $this->repo();
		$search = fn (string $s): array => $this->ids($repo->remoteCategories($this->channel, $s, 50));

		$this->assertSame(['111'], $search('kadin elbise'), 'dotless ı found by i, words in any order of the path');
		$this->assertSame(['111'], $search('ELBİSE'));
		$this->assertSame(['112'], $search('kadin ic'));
		$this->assertSame(['113'], $search('sal esarp'), 'ş and s are one letter to the collation');
		$this->assertSame(['111', '112', '113'], $search('Giyim > Kadın'), 'the separator is not a word');
		$this->assertSame(['113'], $search('113'), 'the id');
		$this->assertSame(['120'], $search('50%'), '% is literal');
		$this->assertSame([], $search('_'), '_ is literal');
		$this->assertSame([], $search("' OR 1=1 -- "), 'escaped, not injected');
		$this->assertSame(['111'], $this->ids($repo->remoteCategories($this->other, 'kamera', 50)));
	}

	public function testRemoteCategoryAndItsAttributes(): void {
		$repo = $this->repo();
		$this->assertSame('Giyim > Kadın', $repo->remoteCategory($this->channel, '110')['path']);
		$this->assertSame('0', (string)$repo->remoteCategory($this->channel, '110')['leaf']);
		$this->assertSame([], $repo->remoteCategory($this->channel, '999'));

		$all = $repo->categoryAttributes($this->channel, ['111', '112', '111', '']);
		$this->assertSame(['111'], array_map('strval', array_keys($all)), 'categories without attributes are absent');
		$this->assertSame(['1192', '47', '338'], array_column($all['111'], 'attribute_id'), 'the marketplace order');
		$this->assertSame(['TR', 'CN'], $all['111'][0]['values']);
		$this->assertTrue($all['111'][0]['required']);
		$this->assertTrue($all['111'][1]['allow_custom']);
		$this->assertCount(20, $all['111'][2]['values'], 'values capped');
		$this->assertSame(30, $all['111'][2]['value_count']);

		$required = $repo->categoryAttributes($this->channel, ['111'], true);
		$this->assertSame(['Menşei', 'Beden ' . self::HOSTILE], array_column($required['111'], 'name'));
		$this->assertSame(['Marka'], array_column($repo->categoryAttributes($this->other, ['111'], true)['111'], 'name'), 'per channel');
		$this->assertSame([], $repo->categoryAttributes($this->channel, ["111' OR '1'='1"]));
	}

	public function testMappingPageOffersTheListAndShowsRequiredAttributes(): void {
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_mapping` SET `channel_id` = '" . $this->channel . "', `kind` = 'category', `local_id` = '20', `remote_id` = '111', `extra` = '{}'");
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_mapping` SET `channel_id` = '" . $this->channel . "', `kind` = 'category', `local_id` = '24', `remote_id` = '777', `extra` = '{}'");
		$this->registry->get('request')->get = ['channel_id' => (string)$this->channel, 'kind' => 'category'];
		(new Mapping($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();
		[, $data] = end($this->registry->get('load')->views);

		$this->assertStringNotContainsString('<script>alert', $html);
		$this->assertStringContainsString('list="kervan-remote-categories"', $html);
		$this->assertStringContainsString('<option value="111">Giyim &gt; Kadın &gt; Elbise</option>', $html);
		$this->assertStringContainsString('<option value="130">Giyim &gt; &lt;script&gt;alert(1)&lt;/script&gt;</option>', $html);
		$this->assertStringNotContainsString('<option value="110">', $html, 'parents are not offered');
		$this->assertStringContainsString('5 leaf categories downloaded', $html);

		$by = array_column($data['mappings'], null, 'remote_id');
		$this->assertSame('Giyim > Kadın > Elbise', $by['111']['remote_path']);
		$this->assertSame(['Menşei', 'Beden ' . self::HOSTILE], array_column($by['111']['required'], 'name'));
		$this->assertNull($by['777']['remote_path']);
		$this->assertStringContainsString('Beden &lt;script&gt;', $html);
		$this->assertStringContainsString("not in the marketplace's list", html_entity_decode($html, ENT_QUOTES), 'a mapping to a vanished category is flagged');

		preg_match_all('/data-(?:search|attributes)="([^"]*)"/', $html, $m);
		$this->assertCount(2, $m[1]);

		foreach ($m[1] as $url) {
			$url = html_entity_decode($url);
			$this->assertStringContainsString('user_token=tok3n', $url);
			$this->assertStringNotContainsString('&amp;', $url, 'usable from JavaScript as is');
		}
	}

	public function testWithoutADownloadedListTheIdIsTyped(): void {
		$this->db->query("DELETE FROM `" . DB_PREFIX . "kervan_category` WHERE `channel_id` = '" . $this->other . "'");
		$this->registry->get('request')->get = ['channel_id' => (string)$this->other, 'kind' => 'category'];
		(new Mapping($this->registry))->index();
		$html = $this->registry->get('response')->getOutput();
		$this->assertStringNotContainsString('kervan-remote-categories', $html);
		$this->assertStringContainsString('kervan categories --channel n11', $html);

		$this->registry->get('request')->post = ['channel_id' => (string)$this->other, 'kind' => 'category', 'local_id' => '20', 'remote_id' => '1000272'];
		(new Mapping($this->registry))->save();
		$this->assertArrayHasKey('success', $this->json());
	}

	public function testSaveAcceptsOnlyLeavesOfTheDownloadedList(): void {
		$post = ['channel_id' => (string)$this->channel, 'kind' => 'category', 'local_id' => '20'];
		$req = $this->registry->get('request');

		foreach (['110' => 'a parent', '999' => 'unknown', "111' OR '1'='1" => 'injection'] as $remote => $why) {
			$req->post = $post + ['remote_id' => (string)$remote];
			(new Mapping($this->registry))->save();
			$this->assertSame("Choose a leaf category from the marketplace's list!", $this->json()['error']['remote_id'] ?? null, $why);
		}

		$this->assertSame(0, (int)$this->db->query("SELECT COUNT(*) AS n FROM `" . DB_PREFIX . "kervan_mapping`")->row['n']);

		$req->post = $post + ['remote_id' => '111'];
		(new Mapping($this->registry))->save();
		$this->assertArrayHasKey('success', $this->json());
		$this->assertSame('111', $this->db->query("SELECT `remote_id` FROM `" . DB_PREFIX . "kervan_mapping` WHERE `channel_id` = '" . $this->channel . "' AND `kind` = 'category'")->row['remote_id']);

		// Brands are not categories: still typed freely.
		$req->post = ['channel_id' => (string)$this->channel, 'kind' => 'brand', 'local_id' => '5', 'remote_id' => '1794'];
		(new Mapping($this->registry))->save();
		$this->assertArrayHasKey('success', $this->json());
	}

	public function testSearchAndAttributeActionsAnswerJson(): void {
		$req = $this->registry->get('request');
		$req->get = ['channel_id' => (string)$this->channel, 'filter_name' => 'kadin'];
		(new Mapping($this->registry))->categories();
		$this->assertSame([
			['remote_id' => '111', 'path' => 'Giyim > Kadın > Elbise'],
			['remote_id' => '112', 'path' => 'Giyim > Kadın > İç Giyim'],
			['remote_id' => '113', 'path' => 'Giyim > Kadın > Şal & Eşarp'],
		], $this->json()['categories']);
		$this->assertStringNotContainsString('<script>', $this->registry->get('response')->getOutput(), 'JSON escapes markup');

		$req->get = ['channel_id' => (string)$this->channel, 'remote_id' => '111'];
		(new Mapping($this->registry))->attributes();
		$json = $this->json();
		$this->assertSame('Giyim > Kadın > Elbise', $json['category']['path']);
		$this->assertSame(['Menşei', 'Beden ' . self::HOSTILE, 'Renk'], array_column($json['attributes'], 'name'), 'required first');
		$this->assertSame('TR, CN', $json['attributes'][0]['values']);
		$this->assertStringEndsWith(', …', $json['attributes'][1]['values']);

		$req->get = ['channel_id' => (string)$this->channel, 'remote_id' => 'nope'];
		(new Mapping($this->registry))->attributes();
		$this->assertSame(['category' => null, 'attributes' => []], $this->json());

		// Read-only users get neither (the picker is part of the edit form).
		$readonly = $this->registry(Installer::ROUTES, []);
		$readonly->get('request')->get = ['channel_id' => (string)$this->channel, 'filter_name' => 'kadin', 'remote_id' => '111'];
		(new Mapping($readonly))->categories();
		$this->assertArrayHasKey('error', json_decode($readonly->get('response')->getOutput(), true));
		(new Mapping($readonly))->attributes();
		$this->assertArrayHasKey('error', json_decode($readonly->get('response')->getOutput(), true));
	}
}

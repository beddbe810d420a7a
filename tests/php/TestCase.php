<?php
namespace Kervan\Test;

use Opencart\System\Engine\Registry;
use Opencart\System\Library\Extension\Kervan\Installer;

/** Base: a fresh registry per test over the run's demo database, Kervan migrated and emptied. */
abstract class TestCase extends \PHPUnit\Framework\TestCase {
	protected static ?DB $sharedDb = null;
	protected Registry $registry;
	protected DB $db;

	public const KERVAN_TABLES = ['kervan_outbox', 'kervan_channel', 'kervan_listing', 'kervan_parked', 'kervan_mapping', 'kervan_heartbeat', 'kervan_order_link', 'kervan_batch', 'kervan_batch_item', 'kervan_category', 'kervan_category_attribute', 'kervan_cursor', 'kervan_job_run', 'kervan_supplier', 'kervan_supplier_product', 'kervan_feed_run', 'kervan_feed_item', 'kervan_supplier_order', 'kervan_reconcile_report'];

	protected function setUp(): void {
		if (!self::$sharedDb) {
			self::$sharedDb = new DB(DB_HOSTNAME, DB_USERNAME, DB_PASSWORD, DB_DATABASE, DB_PORT);
		}

		$this->db = self::$sharedDb;
		$this->db->queries = [];
		(new Installer($this->db, DB_PREFIX))->migrate(DIR_EXTENSION . 'kervan/system/sql/', DB_DATABASE);

		foreach (self::KERVAN_TABLES as $table) {
			$this->db->query("DELETE FROM `" . DB_PREFIX . $table . "`");
		}

		$this->db->query("DELETE FROM `" . DB_PREFIX . "event` WHERE `code` LIKE 'kervan\\_%'");
		@unlink(DIR_LOGS . 'kervan_outbox_error.log');
		$this->registry = $this->registry();
	}

	protected function registry(array $access = Installer::ROUTES, array $modify = Installer::ROUTES): Registry {
		$registry = new Registry();
		$registry->set('db', $this->db);
		$registry->set('config', $config = new Config());
		$config->set('config_language_id', 1);
		$config->set('config_pagination_admin', 10);
		$config->set('config_currency', 'USD');
		$registry->set('request', new Request());
		$registry->set('session', $session = new Session());
		$session->data['user_token'] = 'tok3n';
		$registry->set('user', $user = new User());
		$user->permission = ['access' => $access, 'modify' => $modify];
		$registry->set('url', new Url());
		$registry->set('document', new Document());
		$registry->set('response', new Response());
		$registry->set('log', new Log());
		$registry->set('currency', new Currency());
		$registry->set('language', new Language(KERVAN_EXT));
		$registry->set('load', new Loader($registry, KERVAN_EXT));

		return $registry;
	}

	protected function outboxRows(): array {
		return $this->db->query("SELECT * FROM `" . DB_PREFIX . "kervan_outbox` ORDER BY `id`")->rows;
	}

	protected function log(): array {
		return $this->registry->get('log')->lines;
	}

	protected function json(): array {
		return json_decode($this->registry->get('response')->getOutput(), true) ?? [];
	}

	protected function addChannel(string $code = 'trendyol', string $name = 'Trendyol', array $credentials = ['api_key' => 'K', 'api_secret' => 'S3CR3T-VALUE']): int {
		$this->db->query("INSERT INTO `" . DB_PREFIX . "kervan_channel` SET `code` = '" . $this->db->escape($code) . "', `name` = '" . $this->db->escape($name) . "', `base_url` = 'https://apigw.trendyol.com', `seller_id` = '99', `credentials` = '" . $this->db->escape(json_encode($credentials)) . "', `settings` = '{\"stock_buffer\":1,\"language\":\"tr-tr\"}'");

		return $this->db->getLastId();
	}
}

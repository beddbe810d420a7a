<?php
/**
 * A small stand-in for OpenCart 4's engine, just enough to run Kervan's extension code outside an
 * OpenCart tree: Registry, Controller, Loader (language / view with Debian's Twig / model /
 * controller), Config, Request, Session, User (permissions), Url, Document, Response, Log,
 * Currency, and a DB class over mysqli that behaves like OpenCart's (query() returns
 * {row, rows, num_rows} for SELECTs, throws on error, same session sql_mode).
 */
namespace Opencart\System\Engine {
	class Registry {
		private array $data = [];

		public function get(string $key): mixed {
			return $this->data[$key] ?? null;
		}

		public function set(string $key, mixed $value): void {
			$this->data[$key] = $value;
		}

		public function has(string $key): bool {
			return isset($this->data[$key]);
		}
	}

	class Controller {
		protected Registry $registry;

		public function __construct(Registry $registry) {
			$this->registry = $registry;
		}

		public function __get(string $key): mixed {
			return $this->registry->get($key);
		}

		public function __set(string $key, mixed $value): void {
			$this->registry->set($key, $value);
		}
	}
}

namespace Kervan\Test {
	class DB {
		public \mysqli $link;
		public array $queries = [];

		public function __construct(string $host, string $user, string $pass, string $database, int $port = 3306) {
			mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
			$this->link = new \mysqli($host, $user, $pass, $database, $port);
			$this->link->set_charset('utf8mb4');
			// The same session settings as OpenCart's system/library/db/mysqli.php.
			$this->link->query("SET SESSION sql_mode = 'NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION'");
			$this->link->query("SET FOREIGN_KEY_CHECKS = 0");
		}

		public function query(string $sql): mixed {
			$this->queries[] = $sql;

			try {
				$result = $this->link->query($sql);
			} catch (\mysqli_sql_exception $e) {
				throw new \Exception('Error: ' . $e->getMessage() . '<br/>Error No: ' . $e->getCode() . '<br/>' . $sql);
			}

			if ($result instanceof \mysqli_result) {
				$rows = $result->fetch_all(MYSQLI_ASSOC);
				$result->close();

				return (object)['row' => $rows[0] ?? [], 'rows' => $rows, 'num_rows' => count($rows)];
			}

			return true;
		}

		public function escape(string $value): string {
			return $this->link->real_escape_string($value);
		}

		public function getLastId(): int {
			return (int)$this->link->insert_id;
		}

		public function countAffected(): int {
			return (int)$this->link->affected_rows;
		}
	}

	class Config {
		private array $data = [];

		public function get(string $key): mixed {
			return $this->data[$key] ?? null;
		}

		public function set(string $key, mixed $value): void {
			$this->data[$key] = $value;
		}
	}

	class Request {
		public array $get = [];
		public array $post = [];
		public array $server = ['REQUEST_METHOD' => 'GET'];
	}

	class Session {
		public array $data = [];
	}

	class User {
		public array $permission = ['access' => [], 'modify' => []];
		public int $group_id = 1;

		public function hasPermission(string $key, string $value): bool {
			return in_array($value, $this->permission[$key] ?? [], true);
		}

		public function getGroupId(): int {
			return $this->group_id;
		}

		public function isLogged(): bool {
			return true;
		}
	}

	class Url {
		public function link(string $route, string|array $args = '', bool $js = false): string {
			if (is_array($args)) {
				$args = http_build_query($args);
			}

			$url = 'http://shop.test/admin/index.php?route=' . $route . ($args !== '' ? '&' . $args : '');

			// As OpenCart 4 does: HTML-ready `&amp;` unless asked for a link for JavaScript.
			return $js ? $url : str_replace('&', '&amp;', $url);
		}
	}

	class Document {
		public string $title = '';

		public function setTitle(string $title): void {
			$this->title = $title;
		}
	}

	class Response {
		public array $headers = [];
		public string $output = '';

		public function addHeader(string $header): void {
			$this->headers[] = $header;
		}

		public function setOutput(string $output): void {
			$this->output = $output;
		}

		public function getOutput(): string {
			return $this->output;
		}
	}

	class Log {
		public array $lines = [];

		public function write(string|array $message): void {
			$this->lines[] = is_array($message) ? json_encode($message) : $message;
		}
	}

	class Currency {
		public function format(float $number, string $currency): string {
			return number_format($number, 2) . ' ' . $currency;
		}
	}

	class Language {
		public string $code = 'en-gb';
		private array $data = [];

		public function __construct(private string $dir) {
			$this->data = [
				'text_home' => 'Home', 'text_pagination' => 'Showing %d to %d of %d (%d Pages)', 'text_extension' => 'Extensions',
				'button_save' => 'Save', 'button_back' => 'Back', 'text_enabled' => 'Enabled', 'text_disabled' => 'Disabled',
			];
		}

		public function load(string $route): array {
			$file = $this->dir . '/admin/language/' . $this->code . '/' . preg_replace('~^extension/kervan/~', '', $route) . '.php';
			$_ = [];

			if (is_file($file)) {
				require $file;
			}

			$this->data = array_merge($this->data, $_);

			return $_;
		}

		public function get(string $key): string {
			return (string)($this->data[$key] ?? $key);
		}

		public function all(): array {
			return $this->data;
		}
	}

	/** Loader: language, view (Twig, autoescape off like OpenCart), model (setting/setting), controller (common parts). */
	class Loader {
		public array $views = [];
		private ?\Twig\Environment $twig = null;

		public function __construct(private \Opencart\System\Engine\Registry $registry, private string $dir) {
		}

		public function language(string $route): array {
			return $this->registry->get('language')->load($route);
		}

		public function twig(): \Twig\Environment {
			if (!$this->twig) {
				$loader = new \Twig\Loader\FilesystemLoader($this->dir . '/admin/view/template');
				$this->twig = new \Twig\Environment($loader, ['autoescape' => false, 'strict_variables' => false, 'debug' => false]);
			}

			return $this->twig;
		}

		public function view(string $route, array $data = []): string {
			// OpenCart's event/language merges the loaded language strings into the template data.
			foreach ($this->registry->get('language')->all() as $key => $value) {
				if (!isset($data[$key])) {
					$data[$key] = $value;
				}
			}

			$this->views[] = [$route, $data];

			return $this->twig()->render(preg_replace('~^extension/kervan/~', '', $route) . '.twig', $data);
		}

		public function model(string $route): void {
			if ($route === 'setting/setting') {
				$this->registry->set('model_setting_setting', new SettingModel($this->registry->get('db'), DB_PREFIX, $this->registry->get('config')));
			}
		}

		public function controller(string $route, mixed ...$args): mixed {
			if ($route === 'common/pagination') {
				$s = $args[0];

				return '<ul class="pagination" data-total="' . (int)$s['total'] . '" data-page="' . (int)$s['page'] . '"><li>' . htmlspecialchars(str_replace('{page}', '2', str_replace('%7Bpage%7D', '{page}', $s['url'])), ENT_QUOTES) . '</li></ul>';
			}

			return '';
		}
	}

	/** OpenCart's admin setting/setting editSetting/deleteSetting semantics (delete code, insert prefixed keys). */
	class SettingModel {
		public function __construct(private DB $db, private string $prefix, private Config $config) {
		}

		public function editSetting(string $code, array $data, int $store_id = 0): void {
			$this->deleteSetting($code, $store_id);

			foreach ($data as $key => $value) {
				if (str_starts_with($key, $code)) {
					$serialized = is_array($value) ? 1 : 0;
					$this->db->query("INSERT INTO `" . $this->prefix . "setting` SET `store_id` = '" . $store_id . "', `code` = '" . $this->db->escape($code) . "', `key` = '" . $this->db->escape($key) . "', `value` = '" . $this->db->escape($serialized ? json_encode($value) : (string)$value) . "', `serialized` = '" . $serialized . "'");
					$this->config->set($key, $value);
				}
			}
		}

		public function deleteSetting(string $code, int $store_id = 0): void {
			$this->db->query("DELETE FROM `" . $this->prefix . "setting` WHERE `store_id` = '" . $store_id . "' AND `code` = '" . $this->db->escape($code) . "'");
		}
	}
}

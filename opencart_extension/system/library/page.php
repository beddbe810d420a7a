<?php
namespace Opencart\System\Library\Extension\Kervan;
/**
 * Base of the Marketplaces admin pages (extension/kervan/marketplace/<page>).
 *
 * OpenCart's startup/permission already refuses the page route without `access`; every action
 * here checks `modify` itself. Every link carries user_token. Templates escape every value with
 * `|e` (OpenCart's Twig runs with autoescape off).
 */
abstract class Page extends \Opencart\System\Engine\Controller {
	public const PAGES = ['dashboard', 'channel', 'listing', 'mapping', 'rule', 'order', 'supplier', 'parked'];

	/** The page name, e.g. 'channel'. */
	abstract protected function page(): string;

	protected function route(string $method = ''): string {
		return 'extension/kervan/marketplace/' . $this->page() . ($method !== '' ? $this->sep() . $method : '');
	}

	protected function sep(): string {
		return version_compare(VERSION, '4.0.2.0', '>=') ? '.' : '|';
	}

	protected function token(): string {
		return 'user_token=' . (string)($this->session->data['user_token'] ?? '');
	}

	/** A link to this page (or another page), with user_token and URL-encoded extra args. Plain `&`
	 *  (OpenCart's link() answers `&amp;` by default): the templates escape every value themselves. */
	protected function link(string $method = '', array $args = [], string $page = ''): string {
		$route = $page !== '' ? 'extension/kervan/marketplace/' . $page . ($method !== '' ? $this->sep() . $method : '') : $this->route($method);
		$query = $this->token();

		foreach ($args as $key => $value) {
			if ($value !== '' && $value !== null && $value !== 0) {
				$query .= '&' . rawurlencode((string)$key) . '=' . rawurlencode((string)$value);
			}
		}

		return $this->url->link($route, $query, true);
	}

	protected function repo(): Repo {
		return new Repo($this->db, DB_PREFIX);
	}

	protected function outbox(): Outbox {
		return Outbox::fromRegistry($this->registry);
	}

	protected function boot(): void {
		$this->load->language('extension/kervan/marketplace/kervan');
		$this->load->language('extension/kervan/marketplace/' . $this->page());
		$this->document->setTitle($this->language->get('heading_title'));
	}

	protected function canAccess(): bool {
		return $this->user->hasPermission('access', $this->route());
	}

	protected function canModify(): bool {
		return $this->user->hasPermission('modify', $this->route());
	}

	protected function languageId(): int {
		return (int)$this->config->get('config_language_id') ?: 1;
	}

	protected function pageNo(): int {
		return max(1, (int)($this->request->get['page'] ?? 1));
	}

	protected function limit(): int {
		return max(1, min(200, (int)$this->config->get('config_pagination_admin') ?: 10));
	}

	protected function pagination(int $total, int $page, array $args): array {
		$limit = $this->limit();
		$url = $this->link('', $args + ['page' => '{page}']);

		return [
			'pagination' => $this->load->controller('common/pagination', ['total' => $total, 'page' => $page, 'limit' => $limit, 'url' => $url]),
			'results'    => sprintf($this->language->get('text_pagination'), $total ? (($page - 1) * $limit) + 1 : 0, ((($page - 1) * $limit) > ($total - $limit)) ? $total : ((($page - 1) * $limit) + $limit), $total, (int)ceil($total / $limit)),
		];
	}

	/** Selected ids from a POST checkbox list. */
	protected function selected(string $key = 'selected'): array {
		$value = $this->request->post[$key] ?? [];

		return is_array($value) ? array_values(array_unique(array_filter(array_map([Outbox::class, 'id'], $value)))) : [];
	}

	protected function input(array $source, string $key, int $max = 255): string {
		$value = $source[$key] ?? '';

		return is_scalar($value) ? mb_substr(trim((string)$value), 0, $max) : '';
	}

	/** Finish a page: navigation, breadcrumbs, common parts, the template. */
	protected function render(array $data): void {
		$data['heading_title'] = $this->language->get('heading_title');
		$data['user_token'] = (string)($this->session->data['user_token'] ?? '');
		$data['can_modify'] = $this->canModify();
		$data['nav'] = [];

		foreach (self::PAGES as $page) {
			if ($this->user->hasPermission('access', 'extension/kervan/marketplace/' . $page)) {
				$data['nav'][] = ['name' => $this->language->get('nav_' . $page), 'href' => $this->link('', [], $page), 'active' => $page === $this->page()];
			}
		}

		$data['breadcrumbs'] = [
			['text' => $this->language->get('text_home'), 'href' => $this->url->link('common/dashboard', $this->token(), true)],
			['text' => $this->language->get('text_marketplaces'), 'href' => $this->link('', [], 'dashboard')],
			['text' => $this->language->get('heading_title'), 'href' => $this->link()],
		];

		$data['header'] = $this->load->controller('common/header');
		$data['column_left'] = $this->load->controller('common/column_left');
		$data['footer'] = $this->load->controller('common/footer');

		$this->response->setOutput($this->load->view('extension/kervan/marketplace/' . $this->page(), $data));
	}

	/** JSON answer for an action; refuses without `modify`. Returns false when refused. */
	protected function guardModify(array &$json): bool {
		if (!$this->canModify()) {
			$json['error'] = $this->language->get('error_permission');

			return false;
		}

		return true;
	}

	protected function json(array $json): void {
		$this->response->addHeader('Content-Type: application/json');
		$this->response->setOutput(json_encode($json));
	}
}

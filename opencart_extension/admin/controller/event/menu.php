<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Event;
/**
 * "Marketplaces" in the admin's left menu (view common/column_left/before): each child only when
 * the user's group has access to its route, and no menu at all without access to any of them.
 */
class Menu extends \Opencart\System\Engine\Controller {
	public const PAGES = ['dashboard', 'channel', 'listing', 'mapping', 'rule', 'order', 'supplier', 'parked'];

	/** view before: ($route, $data, $code, $output) on 4.1, ($route, $data, $code) on 4.0.2.3. */
	public function menu(string &$route = '', array &$data = [], mixed &$code = null, mixed &$output = null): void {
		try {
			if (!isset($this->session->data['user_token'])) {
				return;
			}

			$pages = array_values(array_filter(self::PAGES, fn (string $page): bool => $this->user->hasPermission('access', 'extension/kervan/marketplace/' . $page)));

			if (!$pages) {
				return;
			}

			$this->load->language('extension/kervan/marketplace/menu');

			$token = 'user_token=' . $this->session->data['user_token'];
			$children = [];

			foreach ($pages as $page) {
				$children[] = [
					'name'     => $this->language->get('kervan_menu_' . $page),
					'href'     => $this->url->link('extension/kervan/marketplace/' . $page, $token),
					'children' => []
				];
			}

			if (!isset($data['menus']) || !is_array($data['menus'])) {
				$data['menus'] = [];
			}

			$data['menus'][] = [
				'id'       => 'menu-kervan',
				'icon'     => 'fa-solid fa-store',
				'name'     => $this->language->get('kervan_menu_heading'),
				'href'     => '',
				'children' => $children
			];
		} catch (\Throwable $e) {
			$this->log->write('Kervan menu: ' . $e->getMessage());
		}
	}
}

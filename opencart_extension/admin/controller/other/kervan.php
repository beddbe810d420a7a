<?php
namespace Opencart\Admin\Controller\Extension\Kervan\Other;
use Opencart\System\Library\Extension\Kervan\Installer;
/**
 * Extensions › Other › Kervan: install/uninstall hooks called by OpenCart's extension/other
 * controller, and the settings page (enable/disable, "also delete data on uninstall").
 */
class Kervan extends \Opencart\System\Engine\Controller {
	/** Settings kept outside the `other_kervan` code, which OpenCart deletes before calling uninstall(). */
	public const KEEP_CODE = 'kervan_uninstall';

	public function index(): void {
		$this->load->language('extension/kervan/other/kervan');

		$this->document->setTitle($this->language->get('heading_title'));

		$token = 'user_token=' . $this->session->data['user_token'];

		$data['breadcrumbs'] = [
			['text' => $this->language->get('text_home'), 'href' => $this->url->link('common/dashboard', $token, true)],
			['text' => $this->language->get('text_extension'), 'href' => $this->url->link('marketplace/extension', $token . '&type=other', true)],
			['text' => $this->language->get('heading_title'), 'href' => $this->url->link('extension/kervan/other/kervan', $token, true)],
		];

		$data['save'] = $this->url->link('extension/kervan/other/kervan' . $this->sep() . 'save', $token, true);
		$data['back'] = $this->url->link('marketplace/extension', $token . '&type=other', true);
		$data['dashboard'] = $this->url->link('extension/kervan/marketplace/dashboard', $token, true);

		$data['other_kervan_status'] = (int)$this->config->get('other_kervan_status');
		$data['kervan_uninstall_delete_data'] = (int)$this->config->get('kervan_uninstall_delete_data');

		$installer = new Installer($this->db, DB_PREFIX);
		$data['migrations'] = [];

		foreach ($installer->applied() as $version => $checksum) {
			$data['migrations'][] = ['version' => $version, 'checksum' => substr($checksum, 0, 12)];
		}

		$data['opencart_version'] = VERSION;

		$data['header'] = $this->load->controller('common/header');
		$data['column_left'] = $this->load->controller('common/column_left');
		$data['footer'] = $this->load->controller('common/footer');

		$this->response->setOutput($this->load->view('extension/kervan/other/kervan', $data));
	}

	public function save(): void {
		$this->load->language('extension/kervan/other/kervan');

		$json = [];

		if (!$this->user->hasPermission('modify', 'extension/kervan/other/kervan')) {
			$json['error'] = $this->language->get('error_permission');
		}

		if (!$json) {
			$status = !empty($this->request->post['other_kervan_status']);
			$delete = !empty($this->request->post['kervan_uninstall_delete_data']);

			$this->load->model('setting/setting');
			$this->model_setting_setting->editSetting('other_kervan', ['other_kervan_status' => (int)$status]);
			$this->model_setting_setting->editSetting(self::KEEP_CODE, ['kervan_uninstall_delete_data' => (int)$delete]);

			(new Installer($this->db, DB_PREFIX))->setEventStatus($status);

			$json['success'] = $this->language->get('text_success');
		}

		$this->response->addHeader('Content-Type: application/json');
		$this->response->setOutput(json_encode($json));
	}

	/** Called by extension/other.install after it granted this route to the installer's group. */
	public function install(): void {
		if (!$this->user->hasPermission('modify', 'extension/other')) {
			return;
		}

		$installer = new Installer($this->db, DB_PREFIX);
		$installer->migrate(DIR_EXTENSION . 'kervan/system/sql/', DB_DATABASE);
		$installer->registerEvents(VERSION, true);
		$installer->setPermissions((int)$this->user->getGroupId(), true);

		$this->load->model('setting/setting');
		$this->model_setting_setting->editSetting('other_kervan', ['other_kervan_status' => 1]);
	}

	/** Called by extension/other.uninstall: events, menu and permissions go; data stays unless asked. */
	public function uninstall(): void {
		if (!$this->user->hasPermission('modify', 'extension/other')) {
			return;
		}

		$installer = new Installer($this->db, DB_PREFIX);
		$installer->deleteEvents();
		$installer->revokeAll();

		if ($this->config->get('kervan_uninstall_delete_data')) {
			$installer->dropTables();
		}

		$this->load->model('setting/setting');
		$this->model_setting_setting->deleteSetting(self::KEEP_CODE);
	}

	private function sep(): string {
		return version_compare(VERSION, '4.0.2.0', '>=') ? '.' : '|';
	}
}

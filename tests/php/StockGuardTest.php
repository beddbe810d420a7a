<?php
namespace Kervan\Test;

use Opencart\Admin\Controller\Extension\Kervan\Event\Stock;

/** The stale-form guard keeps a sale that happened while the product form was open. */
final class StockGuardTest extends TestCase {
	private function qty(): int {
		return (int)$this->db->query("SELECT `quantity` FROM `" . DB_PREFIX . "product` WHERE `product_id` = 42")->row['quantity'];
	}

	private function optionQty(int $id): int {
		return (int)$this->db->query("SELECT `quantity` FROM `" . DB_PREFIX . "product_option_value` WHERE `product_option_value_id` = '" . $id . "'")->row['quantity'];
	}

	/** Two option values of product 42 from the demo data. */
	private function optionValues(): array {
		return array_map('intval', array_column($this->db->query("SELECT `product_option_value_id` FROM `" . DB_PREFIX . "product_option_value` WHERE `product_id` = 42 ORDER BY `product_option_value_id` LIMIT 2")->rows, 'product_option_value_id'));
	}

	public function testFormGetsTheLoadedQuantitiesEscaped(): void {
		$route = 'catalog/product_form';
		$data = ['quantity' => '5"><script>x</script>', 'product_options' => [['product_option_value' => [['product_option_value_id' => '11', 'quantity' => 3]]]]];
		$output = '<div><form id="form-product" action="x" method="post" data-oc-toggle="ajax"><input name="quantity" value="5"/></form></div>';
		(new Stock($this->registry))->form($route, $data, $output);
		$this->assertStringContainsString('<form id="form-product" action="x" method="post" data-oc-toggle="ajax"><input type="hidden" name="kervan_loaded[quantity]" value="5&quot;&gt;&lt;script&gt;x&lt;/script&gt;"/><input type="hidden" name="kervan_loaded[option][11]" value="3"/>', $output);
		$this->assertStringNotContainsString('<script>', $output);
	}

	public function testFormWithoutProductFormIsUntouched(): void {
		$route = 'catalog/product_form';
		$data = ['quantity' => 1];
		$output = '<p>nothing</p>';
		(new Stock($this->registry))->form($route, $data, $output);
		$this->assertSame('<p>nothing</p>', $output);
	}

	public function testUnchangedQuantitiesTakeTheLiveValues(): void {
		[$a, $b] = $this->optionValues();
		$loaded = $this->qty();
		$loadedA = $this->optionQty($a);
		$loadedB = $this->optionQty($b);

		// A sale while the form is open: product -2, option a -1, option b -1.
		$this->db->query("UPDATE `" . DB_PREFIX . "product` SET `quantity` = `quantity` - 2 WHERE `product_id` = 42");
		$this->db->query("UPDATE `" . DB_PREFIX . "product_option_value` SET `quantity` = `quantity` - 1 WHERE `product_option_value_id` IN (" . $a . "," . $b . ")");

		$req = $this->registry->get('request');
		$req->post = [
			'product_id'     => '42',
			'model'          => 'Product 15',
			'quantity'       => (string)$loaded,               // merchant left it alone
			'product_option' => [['product_option_value' => [
				['product_option_value_id' => (string)$a, 'quantity' => (string)$loadedA],   // left alone
				['product_option_value_id' => (string)$b, 'quantity' => '77'],              // merchant typed 77
			]]],
			'kervan_loaded'  => ['quantity' => (string)$loaded, 'option' => [$a => (string)$loadedA, $b => (string)$loadedB]],
		];
		$route = 'catalog/product.save';
		$args = [];
		(new Stock($this->registry))->guard($route, $args);

		$this->assertSame((string)($loaded - 2), $req->post['quantity'], 'the concurrent sale is kept');
		$this->assertSame((string)($loadedA - 1), $req->post['product_option'][0]['product_option_value'][0]['quantity']);
		$this->assertSame('77', $req->post['product_option'][0]['product_option_value'][1]['quantity'], "the merchant's change wins");
		$this->assertArrayNotHasKey('kervan_loaded', $req->post);
		$this->assertSame('Product 15', $req->post['model']);
	}

	public function testMerchantChangeOfProductQuantityWins(): void {
		$loaded = $this->qty();
		$this->db->query("UPDATE `" . DB_PREFIX . "product` SET `quantity` = `quantity` - 1 WHERE `product_id` = 42");
		$post = ['product_id' => '42', 'quantity' => '500', 'kervan_loaded' => ['quantity' => (string)$loaded]];
		$this->assertSame('500', Stock::apply($this->db, DB_PREFIX, $post)['quantity']);
	}

	public function testWithoutTheHiddenFieldsNothingChanges(): void {
		$post = ['product_id' => '42', 'quantity' => '3'];
		$this->assertSame($post, Stock::apply($this->db, DB_PREFIX, $post));
		// A new product (no id) or junk in the hidden fields: untouched, no error.
		$new = ['product_id' => '0', 'quantity' => '3', 'kervan_loaded' => ['quantity' => '3']];
		$this->assertSame(['product_id' => '0', 'quantity' => '3'], Stock::apply($this->db, DB_PREFIX, $new));
		$junk = ['product_id' => ['x'], 'quantity' => ['y'], 'kervan_loaded' => 'z', 'product_option' => 'q'];
		$route = '';
		$args = [];
		$this->registry->get('request')->post = $junk;
		(new Stock($this->registry))->guard($route, $args);
		$this->assertSame([], $this->log());
	}
}

<?php
/**
 * In-process cost of Kervan's admin product-save hooks on a real MariaDB with the OpenCart demo
 * data: the product.saved outbox INSERT (event handler `product.edit`) plus the stale-form stock
 * guard (`stock.guard`, one SELECT for the product and one for its option values), against the
 * same loop without them. No OpenCart tree needed: uses tests/php/engine.php.
 *
 *   php bench/hook_overhead/hook_bench.php [iterations=2000] [version=4.1.0.4]
 *
 * Creates database kervan_bench_<random> from sandbox/opencart/*.sql and drops it afterwards.
 */
declare(strict_types=1);

$root = dirname(__DIR__, 2);
$n = (int)($argv[1] ?? 2000);
$version = $argv[2] ?? '4.1.0.4';
$dump = ['4.1.0.4' => 'opencart4104_demo.sql', '4.0.2.3' => 'opencart4023_demo.sql'][$version];

define('VERSION', $version);
define('DB_PREFIX', 'oc_');
define('DB_DATABASE', 'kervan_bench_' . bin2hex(random_bytes(4)));
define('DIR_LOGS', sys_get_temp_dir() . '/');
$host = getenv('KERVAN_TEST_MYSQL_HOST') ?: '127.0.0.1';
$user = getenv('KERVAN_TEST_MYSQL_USER') ?: 'root';
$pass = getenv('KERVAN_TEST_MYSQL_PASSWORD') ?: '';
$port = (int)(getenv('KERVAN_TEST_MYSQL_PORT') ?: 3306);

require '/usr/share/php/Twig/autoload.php';
require $root . '/tests/php/engine.php';

spl_autoload_register(function (string $class) use ($root): void {
	$map = [
		'Opencart\\System\\Library\\Extension\\Kervan\\'  => $root . '/opencart_extension/system/library/',
		'Opencart\\Admin\\Controller\\Extension\\Kervan\\' => $root . '/opencart_extension/admin/controller/',
	];

	foreach ($map as $ns => $dir) {
		if (str_starts_with($class, $ns)) {
			$file = $dir . strtolower(str_replace('\\', '/', substr($class, strlen($ns)))) . '.php';

			if (is_file($file)) {
				require_once $file;
			}
		}
	}
});

mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$server = new mysqli($host, $user, $pass, '', $port);
$server->query('CREATE DATABASE `' . DB_DATABASE . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
register_shutdown_function(fn () => (new mysqli($host, $user, $pass, '', $port))->query('DROP DATABASE IF EXISTS `' . DB_DATABASE . '`'));
$server->select_db(DB_DATABASE);
$server->multi_query("SET autocommit = 0;\n" . file_get_contents($root . '/sandbox/opencart/' . $dump) . "\nCOMMIT;");

do {
	if ($r = $server->store_result()) {
		$r->free();
	}
} while ($server->more_results() && $server->next_result());

$db = new Kervan\Test\DB($host, $user, $pass, DB_DATABASE, $port);
(new Opencart\System\Library\Extension\Kervan\Installer($db, DB_PREFIX))->migrate($root . '/schema/migrations', DB_DATABASE);

// The POST of a product form for product 42 as the hidden fields leave it (quantity unchanged).
$options = $db->query("SELECT `product_option_value_id`, `quantity` FROM `oc_product_option_value` WHERE `product_id` = 42")->rows;
$qty = (string)$db->query("SELECT `quantity` FROM `oc_product` WHERE `product_id` = 42")->row['quantity'];
$post = ['product_id' => '42', 'quantity' => $qty, 'product_option' => [['product_option_value' => array_map(fn ($o) => ['product_option_value_id' => $o['product_option_value_id'], 'quantity' => (string)$o['quantity']], $options)]], 'kervan_loaded' => ['quantity' => $qty, 'option' => array_column($options, 'quantity', 'product_option_value_id')]];

function request(Kervan\Test\DB $db): Opencart\System\Engine\Registry {
	$registry = new Opencart\System\Engine\Registry();
	$registry->set('db', $db);
	$registry->set('request', new Kervan\Test\Request());
	$registry->set('log', new Kervan\Test\Log());

	return $registry;
}

// The work OpenCart does anyway in a save is not what is measured; only what Kervan adds.
$with = [];
$without = [];
$guard = [];

for ($i = 0; $i < $n + 50; $i++) {
	// Alternate A/B so drift affects both alike; the first 50 are warm-up.
	$registry = request($db);
	$registry->get('request')->post = $post;
	$t = hrtime(true);
	$route = 'catalog/product.save';
	$args = [];
	(new Opencart\Admin\Controller\Extension\Kervan\Event\Stock($registry))->guard($route, $args);
	$dg = hrtime(true) - $t;
	$route = 'catalog/product.editProduct';
	$margs = ['42', $registry->get('request')->post];
	$out = null;
	(new Opencart\Admin\Controller\Extension\Kervan\Event\Product($registry))->edit($route, $margs, $out);
	$dt = hrtime(true) - $t;

	$registry = request($db);
	$registry->get('request')->post = $post;
	$t = hrtime(true);
	$dt0 = hrtime(true) - $t;

	if ($i >= 50) {
		$with[] = $dt / 1e6;
		$guard[] = $dg / 1e6;
		$without[] = $dt0 / 1e6;
	}
}

function stats(array $v): array {
	sort($v);
	$q = fn (float $p) => $v[(int)floor($p * (count($v) - 1))];

	return ['median' => $q(0.5), 'p90' => $q(0.9), 'p99' => $q(0.99), 'max' => end($v)];
}

$rows = (int)$db->query("SELECT COUNT(*) AS n FROM oc_kervan_outbox")->row['n'];
$s = stats($with);
$b = stats($without);
printf("OpenCart %s demo data, MariaDB %s, PHP %s, n=%d (after 50 warm-up)\n", $version, $db->link->server_info, PHP_VERSION, $n);
printf("Kervan product-save hooks (stock.guard + product.edit → 1 outbox INSERT): median %.3f ms  p90 %.3f  p99 %.3f  max %.3f\n", $s['median'], $s['p90'], $s['p99'], $s['max']);
printf("  of which stock.guard (2 SELECTs): median %.3f ms; product.edit (1 autocommitted INSERT): the rest\n", stats($guard)['median']);
printf("empty baseline: median %.4f ms\n", $b['median']);
printf("added median: %.3f ms; outbox rows written: %d\n", $s['median'] - $b['median'], $rows);
exit($rows === $n + 50 ? 0 : 1);
